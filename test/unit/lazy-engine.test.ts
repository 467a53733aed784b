// Issue 15: the drain loop (dispatcher.ts) is a chunk that the outbox fetches as soon as it
// starts, outside the first load. Until it is there, send() must still commit durably (here: to
// IndexedDB, fake-indexeddb) and nothing is sent; once it arrives, the stored entry is delivered.
// The chunk's arrival is held back by mocking the module behind a gate.
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { storedEntries } from '../helpers/storedEntries.js';
import { lazyOutbox } from '../helpers/lazyOutbox.js';
import { waitFor } from '../helpers/waitFor.js';

const chunk = vi.hoisted(() => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  return { gate, open, requested: false };
});

vi.mock('../../src/outbox/dispatcher.js', async (importOriginal) => {
  chunk.requested = true;
  await chunk.gate;
  return importOriginal();
});

describe('the drain loop as a chunk fetched at start', () => {
  it('send() commits to IndexedDB before the chunk arrived; the chunk was requested at start; delivery follows its arrival', async () => {
    const { outbox, transport, name } = await lazyOutbox('lazy-engine');
    expect(chunk.requested).toBe(true); // fetched when the outbox started, before any send

    const entry = await outbox.send({ text: 'written before the drain loop arrived' });
    // Durable: another connection to the same database reads it back.
    expect((await storedEntries(name)).map((e) => [e.id, e.text, e.status])).toEqual([
      [entry.id, 'written before the drain loop arrived', 'pending'],
    ]);
    await new Promise((r) => setTimeout(r, 20));
    expect(transport.calls).toHaveLength(0); // nothing can be sent without the drain loop

    chunk.open();
    expect((await outbox.whenSettled(entry.id)).status).toBe('sent');
    await waitFor(() => transport.delivered.length === 1, { what: 'the delivery' });
    expect(transport.delivered.map((e) => e.id)).toEqual([entry.id]);
    await outbox.close();
  });
});
