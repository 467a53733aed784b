// Issue 15: the IndexedDB store's layout (a new database's, and the upgrade steps from older
// schemas: store/indexedDbUpgrade.ts) is a chunk fetched when the store opens. An older database,
// or none, found before the chunk arrived is opened again once it is there (nothing is created or
// changed meanwhile); a chunk that cannot be fetched rejects the open with storage-failed, leaves
// the database as it was (or makes none), and the next open fetches it again.
import { IDBFactory } from 'fake-indexeddb';
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import { rejectionCode } from '../helpers/errorCode.js';

const chunk = vi.hoisted(() => ({ fetches: 0, failing: false, gate: Promise.resolve() }));

vi.mock('../../src/store/indexedDbUpgrade.js', async (importOriginal) => {
  chunk.fetches++;
  if (chunk.failing) throw new TypeError('Failed to fetch dynamically imported module');
  await chunk.gate;
  return importOriginal();
});

/** A v1 database (entries with a `seq` index, meta) holding one pending entry and a meta value. */
function createV1(indexedDB: IDBFactory, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore('entries', { keyPath: 'id' }).createIndex('seq', 'seq');
      db.createObjectStore('meta');
      const tx = req.transaction!;
      tx.objectStore('entries').put({
        id: 'old-1',
        conversationId: 'c',
        text: 'from v1',
        status: 'pending',
        attempts: 0,
        createdAt: 1,
        seq: 7,
      });
      tx.objectStore('meta').put('tok', 'session');
    };
    req.onsuccess = () => {
      req.result.close();
      resolve();
    };
    req.onerror = () => reject(req.error);
  });
}

/** Version and layout (stores, key paths, indexes) of database `name`. */
function layout(indexedDB: IDBFactory, name: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onsuccess = () => {
      const db = req.result;
      const names = [...db.objectStoreNames];
      const tx = db.transaction(names);
      const stores = names.map((s) => {
        const st = tx.objectStore(s);
        const indexes = [...st.indexNames].map((i) => [i, st.index(i).keyPath]);
        return [s, st.keyPath, st.autoIncrement, indexes];
      });
      db.close();
      resolve({ version: db.version, stores });
    };
    req.onerror = () => reject(req.error);
  });
}

describe('the IndexedDB upgrade steps as a chunk fetched at open', () => {
  it('unfetchable: storage-failed, nothing changed; on its way: the open waits', async () => {
    const indexedDB = new IDBFactory();
    await createV1(indexedDB, 'old');
    const before = await layout(indexedDB, 'old');
    chunk.failing = true;
    const store = indexedDbStore({ name: 'old', indexedDB });
    expect(await rejectionCode(store.open())).toBe('storage-failed');
    expect(chunk.fetches).toBeGreaterThanOrEqual(1);
    expect(await layout(indexedDB, 'old')).toEqual(before); // still v1, untouched

    // Reachable again, but slow: the next open fetches it and waits for it.
    let open!: () => void;
    chunk.gate = new Promise<void>((r) => (open = r));
    chunk.failing = false;
    const fetches = chunk.fetches;
    let opened = false;
    const opening = store.open().then(() => (opened = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(opened).toBe(false);
    expect(chunk.fetches).toBe(fetches + 1);

    open();
    await opening;
    const fresh = indexedDbStore({ name: 'new', indexedDB });
    await fresh.open();
    await fresh.close();
    expect(await store.getMeta('session')).toBe('tok');
    expect((await store.heads()).map((x) => [x.id, x.text])).toEqual([['old-1', 'from v1']]);
    const [next] = await store.append([
      {
        id: 'n2',
        conversationId: 'c',
        text: 'after',
        status: 'pending',
        attempts: 0,
        createdAt: 3,
      },
    ]);
    expect(next!.seq).toBeGreaterThan(7);
    await store.close();
    // The upgraded database and the new one have the same layout.
    expect(await layout(indexedDB, 'old')).toEqual(await layout(indexedDB, 'new'));
    expect(await layout(indexedDB, 'new')).toMatchObject({ version: 7 });
  });
});
