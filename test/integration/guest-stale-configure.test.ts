// Chaos seed node/guest 1185 (two processes on one SQLite file, a session expiry, socket drops):
// a configureSession was answered, and while the transport was still storing what the answer
// meant (the new conversation's boundary and its transcript line, slow on a busy SQLite file) the
// socket dropped. The late continuation then marked the transport ready with no socket: connect()
// returns when ready, so it never reconnected, and every attempt failed without reaching the
// server ("history unreadable" for an entry in doubt, 115 attempts) until the drain deadline.
import WebSocket from 'ws';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { createOutbox, type Outbox } from '../../src/outbox/createOutbox.js';
import { silentLogger } from '../../src/internal/logger.js';
import { memoryStore } from '../../src/store/memory.js';
import type { OutboxStore, TranscriptRecord } from '../../src/store/OutboxStore.js';
import { guestTransport, type WebSocketConstructor } from '../../src/transport/guest.js';
import { waitFor } from './guest-helpers.js';

let sim: Simulator;
let outbox: Outbox | undefined;

beforeEach(async () => {
  sim = await startSimulator({ port: 0 });
});
afterEach(async () => {
  await outbox?.close().catch(() => undefined);
  outbox = undefined;
  await sim.close();
});

/** A store whose transcript writes of a new conversation's line wait while `held`. */
function holdingStore(store: OutboxStore): {
  store: OutboxStore;
  hold: () => void;
  release: () => void;
  waiting: () => number;
} {
  let held = false;
  const waiting: (() => void)[] = [];
  const wrapped: OutboxStore = {
    ...store,
    putTranscript: async (records: readonly TranscriptRecord[]) => {
      if (held && records.some((r) => r.event === 'Conversation:New'))
        await new Promise<void>((resolve) => waiting.push(resolve));
      return store.putTranscript(records);
    },
  };
  return {
    store: wrapped,
    hold: () => (held = true),
    release: () => {
      held = false;
      for (const go of waiting.splice(0)) go();
    },
    waiting: () => waiting.length,
  };
}

it('a socket that drops while its configureSession answer is being stored: the transport reconnects and sends', async () => {
  const closes = { n: 0 };
  class Counting extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      this.on('close', () => closes.n++);
    }
  }
  const storage = holdingStore(memoryStore());
  outbox = await createOutbox({
    transport: guestTransport({
      webSocketUrl: sim.wsUrl,
      apiBaseUrl: sim.url,
      deploymentId: 'sim-deployment',
      WebSocket: Counting as unknown as WebSocketConstructor,
      // random() = 1 below: every reconnect waits 500 ms, long after the held write is released
      reconnect: { baseDelayMs: 500, maxDelayMs: 500 },
    }),
    store: storage.store,
    coordinator: false,
    random: () => 1,
    retry: { baseDelayMs: 50, maxDelayMs: 200 },
    logger: silentLogger,
  });
  const warm = await outbox.send({ text: 'warm-up' });
  expect((await outbox.whenSettled(warm.id)).status).toBe('sent');

  // The session expires: the transport configures again and the answer is a new conversation,
  // whose transcript line is held (a slow store) ...
  storage.hold();
  sim.control.expireSession(sim.control.sessions()[0]!.token);
  await waitFor(() => storage.waiting() > 0, 'the new conversation line held');
  // ... while the socket drops.
  await sim.control.outage('reset');
  await waitFor(() => closes.n > 0, 'the client saw its socket close');
  await sim.control.outage(false);
  storage.release();

  const after = await outbox.send({ text: 'after the drop' });
  // Old code: never (ready without a socket, no reconnect); the waitFor fails after 20 s.
  await waitFor(
    async () => !(await outbox!.list()).some((e) => e.id === after.id),
    'the message after the drop delivered',
  );
  expect((await outbox.whenSettled(after.id)).status).toBe('sent');
  expect(
    sim.control
      .sessions()[0]!
      .messages.filter((m) => m.direction === 'Inbound')
      .map((m) => m.text),
  ).toEqual(['after the drop']);
});
