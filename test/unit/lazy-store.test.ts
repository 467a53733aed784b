// Issue 15: the IndexedDB store's operations other than opening, appending and the meta values
// (store/indexedDbOps.ts) are a chunk that the store fetches when it opens, outside the first
// load. Until it is there, send() commits to IndexedDB (fake-indexeddb) and a call that needs the
// chunk (list, the drain loop's reads) waits for it, in call order; a fetch that fails rejects
// those calls with `storage-failed` and the next call fetches it again. Nothing is lost either way.
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { rawEntries } from '../helpers/storedEntries.js';
import { lazyOutbox } from '../helpers/lazyOutbox.js';
import { waitFor } from '../helpers/waitFor.js';

const chunk = vi.hoisted(() => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  return { gate, open, requested: 0, failNext: false };
});

vi.mock('../../src/store/indexedDbOps.js', async (importOriginal) => {
  chunk.requested++;
  await chunk.gate;
  return importOriginal();
});

describe('the IndexedDB store operations as a chunk fetched at open', () => {
  it('send() commits before the chunk arrived; list() and delivery wait for it, in order', async () => {
    const { outbox, transport, name } = await lazyOutbox('lazy-store');
    expect(chunk.requested).toBe(1); // fetched when the store opened, before any send

    const a = await outbox.send({ text: 'first, before the store chunk' });
    const b = await outbox.send({ text: 'second, before the store chunk' });
    // Durable: the database holds both, read with plain IndexedDB calls.
    const rows = (await rawEntries(name)).sort((x, y) => (x.seq as number) - (y.seq as number));
    expect(rows.map((r) => [r.id, r.text, r.status])).toEqual([
      [a.id, 'first, before the store chunk', 'pending'],
      [b.id, 'second, before the store chunk', 'pending'],
    ]);
    let listed: unknown;
    const listing = outbox.list().then((l) => (listed = l));
    await new Promise((r) => setTimeout(r, 20));
    expect(listed).toBeUndefined(); // waits for the chunk
    expect(transport.calls).toHaveLength(0); // the drain loop reads heads through the chunk

    chunk.open();
    await listing;
    expect((listed as { id: string }[]).map((e) => e.id)).toEqual([a.id, b.id]);
    expect((await outbox.whenSettled(b.id)).status).toBe('sent');
    await waitFor(() => transport.delivered.length === 2, { what: 'both deliveries' });
    expect(transport.delivered.map((e) => e.id)).toEqual([a.id, b.id]);
    await outbox.close();
  });
});
