// Issue 10 defect 2 against the simulator: a guest message the server stored, whose echo the
// process never saw because it died; after the restart the session answers later than
// connectWaitMs. The restarted outbox must read the history before it resends: one copy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { createOutbox, type Outbox } from '../../src/outbox/createOutbox.js';
import { silentLogger } from '../../src/internal/logger.js';
import { memoryStore } from '../../src/store/memory.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import { guestTransport } from '../../src/transport/guest.js';
import { killableStore, linkedWebSocket, waitFor, type Link } from './guest-helpers.js';

const DEPLOYMENT = 'sim-deployment';
const CONNECT_WAIT_MS = 300;
let sim: Simulator;
let dir: string;
const outboxes: Outbox[] = [];

beforeEach(async () => {
  sim = await startSimulator({ port: 0 });
  dir = mkdtempSync(join(tmpdir(), 'outbox-in-doubt-'));
});
afterEach(async () => {
  for (const o of outboxes.splice(0)) await o.close().catch(() => undefined);
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(store: OutboxStore, link: Link): Promise<Outbox> {
  const outbox = await createOutbox({
    transport: guestTransport({
      webSocketUrl: sim.wsUrl,
      apiBaseUrl: sim.url,
      deploymentId: DEPLOYMENT,
      WebSocket: linkedWebSocket(link),
      reconnect: { baseDelayMs: 20, maxDelayMs: 200 },
      connectWaitMs: CONNECT_WAIT_MS,
    }),
    store,
    coordinator: false,
    retry: { baseDelayMs: 50, maxDelayMs: 300 },
    logger: silentLogger,
  });
  outboxes.push(outbox);
  return outbox;
}

const inbound = (messages: { direction: string; text?: string }[] | undefined): string[] =>
  (messages ?? []).filter((m) => m.direction === 'Inbound').map((m) => m.text ?? '');

/** Run 1: 'hello' reaches the server, its echo is lost, the process dies. Returns the entry id. */
async function storedThenKilled(store: OutboxStore): Promise<string> {
  const link: Link = { outMs: 0, dropIn: false };
  const killable = killableStore(store);
  const first = await open(killable.store, link);
  // One message through first: the session, and the history sync after it, are done.
  await first.whenSettled((await first.send({ text: 'warm-up' })).id);
  link.dropIn = true; // from now on nothing the server says reaches this process
  const e = await first.send({ text: 'hello' });
  await waitFor(() => inbound(sim.control.sessions()[0]?.messages).includes('hello'), 'stored');
  killable.kill();
  await first.close().catch(() => undefined); // the "dead" process's socket goes away
  return e.id;
}

/** name → a factory of "the same storage, opened again". */
const stores: [string, () => () => OutboxStore][] = [
  [
    'memory',
    () => {
      const m = memoryStore();
      return () => m;
    },
  ],
  ['sqlite', () => () => sqliteStore({ path: join(dir, 'outbox.db') })],
];

describe.each(stores)('guest in doubt across a restart (%s store)', (_name, storage) => {
  it('latency > connectWaitMs after the restart: found in history, sent once', async () => {
    const makeStore = storage();
    const id = await storedThenKilled(makeStore());
    const second = await open(makeStore(), { outMs: CONNECT_WAIT_MS * 3, dropIn: false });
    const settled = await second.whenSettled(id);
    expect(settled.status).toBe('sent');
    expect(inbound(sim.control.sessions()[0]?.messages)).toEqual(['warm-up', 'hello']);
    const line = (await second.transcript.list()).find((l) => l.key === id);
    expect(line).toMatchObject({ key: id, text: 'hello', status: 'sent' });
  });

  it('the session expired while the process was dead: not resent into the new conversation', async () => {
    const makeStore = storage();
    const id = await storedThenKilled(makeStore());
    const token = sim.control.sessions()[0]!.token;
    sim.control.expireSession(token);
    const second = await open(makeStore(), { outMs: CONNECT_WAIT_MS * 3, dropIn: false });
    const settled = await second.whenSettled(id);
    expect(settled).toMatchObject({ status: 'failed', lastError: { code: 'conversation-ended' } });
    const s = sim.control.sessions()[0]!;
    expect(s.previousConversations.flatMap((c) => inbound(c.messages))).toEqual([
      'warm-up',
      'hello',
    ]);
    expect(inbound(s.messages)).toEqual([]);
  });
  it('a configureSession whose answer is never read started the new conversation: not resent into it', async () => {
    const makeStore = storage();
    const id = await storedThenKilled(makeStore());
    sim.control.expireSession(sim.control.sessions()[0]!.token);
    // Run 2 hears nothing from the server: its configureSession starts the new conversation,
    // the SessionResponse (newSession: true) never reaches it, and it dies.
    const killable = killableStore(makeStore());
    const second = await open(killable.store, { outMs: 0, dropIn: true });
    await waitFor(
      () => sim.control.sessions()[0]?.previousConversations.length === 1,
      'the new conversation',
    );
    killable.kill();
    await second.close().catch(() => undefined);
    // Run 3 resumes the new conversation (newSession: false): 'hello' may be in the old one.
    const third = await open(makeStore(), { outMs: 0, dropIn: false });
    const settled = await third.whenSettled(id);
    expect(settled).toMatchObject({ status: 'failed', lastError: { code: 'conversation-ended' } });
    const s = sim.control.sessions()[0]!;
    expect(s.previousConversations.flatMap((c) => inbound(c.messages))).toEqual([
      'warm-up',
      'hello',
    ]);
    expect(inbound(s.messages)).toEqual([]);
  });
});
