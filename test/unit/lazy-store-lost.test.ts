// Issue 15: telling a lost IndexedDB connection (closed under us) from other failures, and
// retrying once on a fresh one, is in the store's operations chunk (store/indexedDbOps.ts,
// fetched when the store opens). Before the chunk arrived an append on a lost connection
// rejects with storage-failed and stores nothing (send() rejects: not stored); the next append
// opens a fresh connection. Once the chunk is there, the same loss is retried and the append
// commits.
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import type { NewEntry } from '../../src/outbox/entry.js';
import { rejectionCode } from '../helpers/errorCode.js';
import { idbFactory } from '../helpers/idbFactory.js';

const chunk = vi.hoisted(() => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  return { gate, open };
});

vi.mock('../../src/store/indexedDbOps.js', async (importOriginal) => {
  await chunk.gate;
  return importOriginal();
});

let n = 0;
const entry = (): NewEntry => ({
  id: `id-${++n}`,
  conversationId: 'c',
  text: `m${n}`,
  status: 'pending',
  attempts: 0,
  createdAt: Date.now(),
});

describe('a lost IndexedDB connection, before and after the operations chunk', () => {
  it('before: the append rejects with storage-failed and the next one reopens; after: retried at once', async () => {
    const { indexedDB, connections } = idbFactory();
    const store = indexedDbStore({ indexedDB });
    await store.open(); // the operations chunk is on its way (held back)

    connections[0]!.close(); // InvalidStateError on the next transaction()
    expect(await rejectionCode(store.append([entry()]))).toBe('storage-failed');
    const [a] = await store.append([entry()]); // a fresh connection
    expect(connections).toHaveLength(2);

    chunk.open();
    expect((await store.list()).map((e) => e.id)).toEqual([a!.id]); // the lost one stored nothing
    connections[1]!.close();
    const [b] = await store.append([entry()]); // retried on a third connection, committed
    expect(connections).toHaveLength(3);
    expect((await store.list()).map((e) => e.id)).toEqual([a!.id, b!.id]);
    await store.close();
  });
});
