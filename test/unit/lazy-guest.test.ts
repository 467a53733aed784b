// Issue 15: the guest transport's protocol client (guest/session.ts) is a chunk that the
// transport fetches when the outbox starts it, outside the first load. Until it is there the
// outbox is ready, send() commits to IndexedDB (fake-indexeddb) and no socket is opened; once it
// arrives, the session connects and the stored entry is delivered on its echo.
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import { silentLogger } from '../../src/internal/logger.js';
import { storedEntries } from '../helpers/storedEntries.js';
import { guestTransport } from '../../src/transport/guest.js';
import { FakeSocket, socketAfter } from './guest-fakes.js';

const chunk = vi.hoisted(() => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  return { gate, open, requested: false };
});

vi.mock('../../src/transport/guest/session.js', async (importOriginal) => {
  chunk.requested = true;
  await chunk.gate;
  return importOriginal();
});

describe('the guest session as a chunk fetched at start', () => {
  it('the outbox is ready and send() durable before the session chunk arrived; it connects and delivers after', async () => {
    const { createOutbox } = await import('../../src/outbox/createOutbox.js');
    const name = 'lazy-guest';
    const outbox = await createOutbox({
      transport: guestTransport({
        webSocketUrl: 'ws://sim.test',
        apiBaseUrl: 'http://sim.test',
        deploymentId: 'lazy-guest-deployment',
        WebSocket: FakeSocket,
        fetch: () => Promise.resolve(new Response('{"entities":[]}')),
      }),
      store: indexedDbStore({ name }),
      coordinator: false,
      logger: silentLogger,
    });
    // Fetched when the outbox started the transport (asked a few ticks later), before any send.
    await vi.waitFor(() => expect(chunk.requested).toBe(true));

    const entry = await outbox.send({ text: 'before the session chunk' });
    // Stored (the drain loop may already have marked it 'sending': its attempt waits for the chunk).
    expect((await storedEntries(name)).map((e) => [e.id, e.text])).toEqual([
      [entry.id, 'before the session chunk'],
    ]);
    await new Promise((r) => setTimeout(r, 20));
    expect(FakeSocket.all).toHaveLength(0); // no protocol client, no socket yet

    chunk.open();
    const s = await socketAfter(0);
    s.open();
    await vi.waitFor(() => s.lastSent('configureSession'));
    s.session();
    await vi.waitFor(() => s.lastSent('onMessage'));
    expect(s.lastSent('onMessage').tracingId).toBe(entry.id);
    s.echo('srv-1', new Date().toISOString());
    expect((await outbox.whenSettled(entry.id)).status).toBe('sent');
    await outbox.close();
  });
});
