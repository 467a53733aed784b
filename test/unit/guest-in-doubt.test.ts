// In doubt is durable state of the entry (issue 10 defect 2): an outbox restarted while a guest
// message was in flight reads the history before it resends, even when its first attempt after
// the restart found no session yet ("not connected").
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOutbox, type Outbox } from '../../src/outbox/createOutbox.js';
import { silentLogger } from '../../src/internal/logger.js';
import { memoryStore } from '../../src/store/memory.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import { guestTransport } from '../../src/transport/guest.js';
import { FakeSocket, ManualClock, flush, historyFetch, socketAfter } from './guest-fakes.js';
import { waitFor } from '../helpers/waitFor.js';

const DEPLOYMENT = '3b0e9f7c-1111-4222-8333-444455556666';
const retry = { baseDelayMs: 1000, maxDelayMs: 1000, maxAttempts: 10, maxAgeMs: 3_600_000 };

let hist: { entities: unknown[]; status?: number; calls: string[] };
let open: Outbox[] = [];

beforeEach(() => {
  FakeSocket.all = [];
  hist = { entities: [], calls: [] };
  open = [];
});
afterEach(async () => {
  for (const o of open) await o.close().catch(() => undefined);
});

/** One "run" of the app: an outbox with a guest transport on the shared store. */
async function run(store: OutboxStore, clock: ManualClock): Promise<Outbox> {
  const sockets = FakeSocket.all.length;
  const outbox = await createOutbox({
    transport: guestTransport({
      webSocketUrl: 'ws://sim.test',
      apiBaseUrl: 'http://sim.test',
      deploymentId: DEPLOYMENT,
      WebSocket: FakeSocket,
      fetch: historyFetch(hist),
      reconnect: { baseDelayMs: 100, maxDelayMs: 100 },
      connectWaitMs: 2000,
    }),
    store,
    clock,
    random: () => 1,
    retry,
    coordinator: false,
    logger: silentLogger,
  });
  open.push(outbox);
  await socketAfter(sockets); // the guest session's chunk arrived and connected
  return outbox;
}

/** The server side of one socket: open, configure, answer the history sync's getJwt. */
async function configure(s: FakeSocket, newSession: boolean): Promise<void> {
  s.open();
  // The transport stores the time of its ask, then sends configureSession.
  await waitFor(() => s.actions().includes('configureSession'), { what: 'configureSession' });
  s.session({ newSession });
  // A new conversation's first line is placed by a lazily imported module (the first import
  // takes real time), then the history sync asks for a JWT.
  await waitFor(() => s.actions().includes('getJwt'), { what: 'getJwt' });
  s.jwt();
  await flush(20);
}

/** Run 1: the message goes out, the server stores it, the process dies before the echo. */
async function inFlightThenCrash(store: OutboxStore, clock: ManualClock): Promise<string> {
  const first = await run(store, clock);
  const s1 = FakeSocket.last;
  await configure(s1, true);
  const e = await first.send({ text: 'hello' });
  await clock.advance(10);
  const sent = s1.lastSent('onMessage');
  expect(sent.tracingId).toBe(e.id);
  // The server stored it (it is in the history) but its echo never reaches this process.
  hist.entities.unshift({
    id: 'srv-hello',
    direction: 'Inbound',
    type: 'Text',
    text: 'hello',
    channel: { time: new Date(clock.now()).toISOString() },
  });
  open = []; // "killed": never closed, its clock never moves again
  return e.id;
}

describe('guest in-doubt survives a restart', () => {
  it('a session slower than connectWaitMs after the restart: history read, nothing resent', async () => {
    const store = memoryStore();
    const id = await inFlightThenCrash(store, new ManualClock());

    const clock = new ManualClock();
    clock.t += 5_000;
    const second = await run(store, clock);
    const s2 = FakeSocket.last;
    // The socket does not open within connectWaitMs: the first attempt is 'not connected'.
    await clock.advance(2_500);
    const [waiting] = await second.list();
    expect(waiting).toMatchObject({ id, status: 'pending', lastError: { code: 'network' } });
    expect(waiting?.attempts).toBe(0);
    // The session answers; the next attempt must read the history first and find it.
    await configure(s2, false);
    await clock.advance(1_500);
    await flush(20);
    expect(s2.actions()).not.toContain('onMessage');
    const settled = await second.whenSettled(id);
    expect(settled.status).toBe('sent');
    expect(hist.calls.length).toBeGreaterThanOrEqual(2); // the sync, then the reconciliation
    const line = await second.transcript.list();
    expect(line).toMatchObject([{ key: id, serverId: 'srv-hello' }]);
  });

  it('after the session expired meanwhile: not resent into the new conversation; failed and visible', async () => {
    const store = memoryStore();
    const id = await inFlightThenCrash(store, new ManualClock());
    hist.entities = []; // the new conversation's history is empty

    const clock = new ManualClock();
    clock.t += 5_000;
    const second = await run(store, clock);
    await configure(FakeSocket.last, true); // newSession: the old conversation ended
    await clock.advance(10);
    expect(FakeSocket.last.actions()).not.toContain('onMessage');
    const settled = await second.whenSettled(id);
    expect(settled).toMatchObject({ status: 'failed', lastError: { code: 'conversation-ended' } });
    // The user decides: retry() sends it into the new conversation.
    await second.retry(id);
    await clock.advance(10);
    expect(FakeSocket.last.lastSent('onMessage').tracingId).toBe(id);
  });
});
