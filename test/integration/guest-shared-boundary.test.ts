// Chaos seed node/guest 1097 (two processes on one SQLite file, kills, a session expiry): both
// processes keep one guest session token in the store, so both sockets join one session. When
// it expires, only the configure that restarts it is answered `newSession: true`; a process
// whose socket joined after that (it was restarting during the expiry) is answered
// `newSession: false` and kept the old conversation's boundary, read from the store at its
// start. It then resent a message left in doubt in the old conversation into the new one (two
// copies: the agent sees it twice), and wrote the old boundary back over the new one in the
// store, so a process started after it did the same. The boundary is shared state: a process
// takes the stored one when it is newer.
import WebSocket from 'ws';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import type { OutboxEntry } from '../../src/outbox/entry.js';
import { memoryStore } from '../../src/store/memory.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import { guestTransport, type WebSocketConstructor } from '../../src/transport/guest.js';
import type { SendOutcome, Transport } from '../../src/transport/Transport.js';
import { directContext, waitFor, type DirectContext } from './guest-helpers.js';

let sim: Simulator;
const started: Transport[] = [];

beforeEach(async () => {
  sim = await startSimulator({ port: 0 });
});
afterEach(async () => {
  for (const t of started.splice(0)) await t.close?.();
  await sim.close();
});

/** `ws` that connects nowhere (refused) until `gate.open`: a process whose socket is not up yet. */
function gatedWebSocket(gate: { open: boolean; tried: number }): WebSocketConstructor {
  return function Gated(url: string, ...rest: unknown[]) {
    if (gate.open) return new WebSocket(url, ...(rest as []));
    gate.tried += 1;
    return new WebSocket('ws://127.0.0.1:9/refused');
  } as unknown as WebSocketConstructor;
}

/** One process's transport on the shared store, started (not waited for). */
async function start(
  store: OutboxStore,
  ws: WebSocketConstructor = WebSocket as unknown as WebSocketConstructor,
): Promise<{ t: Transport; ctx: DirectContext }> {
  const t = guestTransport({
    webSocketUrl: sim.wsUrl,
    apiBaseUrl: sim.url,
    deploymentId: 'sim-deployment',
    WebSocket: ws,
    reconnect: { baseDelayMs: 20, maxDelayMs: 50 },
  });
  const ctx = directContext(store);
  started.push(t);
  await t.start?.(ctx);
  return { t, ctx };
}

const send = (
  p: { t: Transport; ctx: DirectContext },
  e: OutboxEntry,
  since?: number,
): Promise<SendOutcome> =>
  p.t.send(e, {
    signal: p.ctx.signal,
    attempt: 2,
    inDoubt: since !== undefined,
    inDoubtSince: since,
  });

/** Every copy of `text` the simulator stored, in any conversation of the session. */
const copies = (text: string): number =>
  sim.control.delivered().filter((d) => d.kind === 'guest' && d.text === text).length;

/**
 * Process 1 delivers 'hello' and dies before it recorded the answer (in doubt since `since`).
 * Process 2 starts (it reads the boundary) but its socket is not up yet. The session expires;
 * process 3 configures first: a new conversation, boundary stored. Then process 2's socket joins.
 */
async function scenario(): Promise<{
  store: OutboxStore;
  hello: OutboxEntry;
  since: number;
  late: { t: Transport; ctx: DirectContext };
}> {
  const store = memoryStore();
  await store.open();
  const first = await start(store);
  await waitFor(() => first.ctx.wakes > 0, 'process 1 configured');
  const since = Date.now();
  const hello: OutboxEntry = {
    id: crypto.randomUUID(),
    conversationId: 'default',
    text: 'hello',
    status: 'sending',
    attempts: 0,
    createdAt: since,
  };
  expect((await send(first, hello)).kind).toBe('delivered');
  await first.t.close?.();

  const gate = { open: false, tried: 0 };
  const late = await start(store, gatedWebSocket(gate));
  await waitFor(() => gate.tried > 0, 'process 2 started, its socket not up');

  sim.control.expireSession(sim.control.sessions()[0]!.token);
  const third = await start(store);
  await waitFor(() => third.ctx.wakes > 0, 'process 3 configured the expired session');
  expect(sim.control.sessions()[0]!.messages.filter((m) => m.direction === 'Inbound')).toEqual([]);
  await third.t.close?.();

  gate.open = true;
  await waitFor(() => late.ctx.wakes > 0, 'process 2 configured');
  return { store, hello, since, late };
}

it('a process that joined the new conversation late does not resend an old in-doubt message into it', async () => {
  const { hello, since, late } = await scenario();
  // Old code: 'delivered' (resent into the new conversation), 2 copies.
  expect(await send(late, hello, since)).toMatchObject({
    kind: 'rejected',
    error: { code: 'conversation-ended' },
  });
  expect(copies('hello')).toBe(1);
});

it('nor does it write the old boundary back for the next process', async () => {
  const { store, hello, since } = await scenario();
  const next = await start(store);
  await waitFor(() => next.ctx.wakes > 0, 'process 4 configured');
  // Old code: process 2 stored the old boundary again; process 4 resent 'hello', 2 copies.
  expect(await send(next, hello, since)).toMatchObject({
    kind: 'rejected',
    error: { code: 'conversation-ended' },
  });
  expect(copies('hello')).toBe(1);
});
