// Issue 15: the IndexedDB store's operations chunk (store/indexedDbOps.ts) cannot be fetched
// (the network dropped while the page started). send() still commits (the first load writes);
// what needs the chunk rejects with `storage-failed` instead of hanging, and the next call fetches
// the chunk again: the stored message is then listed and delivered.
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { rawEntries } from '../helpers/storedEntries.js';
import { rejectionCode } from '../helpers/errorCode.js';
import { lazyOutbox } from '../helpers/lazyOutbox.js';

const chunk = vi.hoisted(() => ({ fetches: 0, failing: true }));

vi.mock('../../src/store/indexedDbOps.js', async (importOriginal) => {
  chunk.fetches++;
  if (chunk.failing) throw new TypeError('Failed to fetch dynamically imported module');
  return importOriginal();
});

describe('the IndexedDB store operations chunk failing to load', () => {
  it('rejects with storage-failed, then loads on the next call; the message stored meanwhile is delivered', async () => {
    const { outbox, transport, name } = await lazyOutbox('lazy-store-fail');
    const entry = await outbox.send({ text: 'stored while the chunk was unreachable' });
    expect((await rawEntries(name)).map((r) => r.id)).toEqual([entry.id]);
    expect(await rejectionCode(outbox.list())).toBe('storage-failed');
    const failed = chunk.fetches;
    expect(failed).toBeGreaterThanOrEqual(2); // at open, then for list() (the drain loop's too)

    chunk.failing = false; // the network is back: the next call fetches the chunk again
    expect((await outbox.list()).map((e) => e.id)).toEqual([entry.id]);
    expect(chunk.fetches).toBe(failed + 1);
    await outbox.flush();
    expect((await outbox.whenSettled(entry.id)).status).toBe('sent');
    expect(transport.delivered.map((e) => e.id)).toEqual([entry.id]);
    await outbox.close();
  });
});
