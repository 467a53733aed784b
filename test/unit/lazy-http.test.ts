// Issue 15: the HTTP transports' sender (post.ts) is a chunk that the transport fetches when the
// outbox starts it, outside the first load. Until it is there the outbox is ready, send() commits
// to IndexedDB (fake-indexeddb) and nothing is posted; once it arrives, the stored entry is posted
// and delivered. The chunk's arrival is held back by mocking the module behind a gate.
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import { silentLogger } from '../../src/internal/logger.js';
import { storedEntries } from '../helpers/storedEntries.js';
import { httpTransport } from '../../src/transport/http.js';

const chunk = vi.hoisted(() => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  return { gate, open, requested: false };
});

vi.mock('../../src/transport/post.js', async (importOriginal) => {
  chunk.requested = true;
  await chunk.gate;
  return importOriginal();
});

describe('the HTTP sender as a chunk fetched at start', () => {
  it('the outbox is ready and send() durable before the sender chunk arrived; it posts after', async () => {
    const { createOutbox } = await import('../../src/outbox/createOutbox.js');
    const posted: string[] = [];
    const fetch = (async (_url: string | URL | Request, init?: RequestInit) => {
      posted.push(String(init?.body));
      return new Response(null, { status: 202 });
    }) as typeof globalThis.fetch;
    const name = 'lazy-http';
    const outbox = await createOutbox({
      transport: httpTransport({ url: 'http://relay.test/messages', fetch }),
      store: indexedDbStore({ name }),
      coordinator: false,
      logger: silentLogger,
    });
    // Fetched when the outbox started the transport, before any send.
    await vi.waitFor(() => expect(chunk.requested).toBe(true));

    const entry = await outbox.send({ text: 'before the sender chunk' });
    // Stored (the drain loop may already have marked it 'sending': its attempt waits for the chunk).
    expect((await storedEntries(name)).map((e) => [e.id, e.text])).toEqual([
      [entry.id, 'before the sender chunk'],
    ]);
    await new Promise((r) => setTimeout(r, 20));
    expect(posted).toHaveLength(0); // no sender, nothing posted yet

    chunk.open();
    expect((await outbox.whenSettled(entry.id)).status).toBe('sent');
    expect(posted).toHaveLength(1);
    expect(JSON.parse(posted[0] ?? '')).toMatchObject({ text: 'before the sender chunk' });
    await outbox.close();
  });
});
