// Issue 15: the drain loop (dispatcher.ts) is a chunk that the outbox fetches as soon as it
// starts, outside the first load. Until it is there, send() must still commit durably (here: to
// IndexedDB, fake-indexeddb) and nothing is sent; once it arrives, the stored entry is delivered.
// The chunk's arrival is held back by mocking the module behind a gate.
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import { silentLogger } from '../../src/internal/logger.js';
import { storedEntries } from '../helpers/storedEntries.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
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
    // Imported here, not at the top: with the drain loop in the first load, this import itself
    // waits for the gated module and the test times out.
    const { createOutbox } = await import('../../src/outbox/createOutbox.js');
    const transport = new ScriptedTransport();
    const name = 'lazy-engine';
    const outbox = await createOutbox({
      transport,
      store: indexedDbStore({ name }),
      coordinator: false,
      logger: silentLogger,
    });
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
