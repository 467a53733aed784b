import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/store/memory.js';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import { migrateTutorialQueue } from '../../src/store/migrateTutorial.js';

const ID = (n: number): string => `00000000-0000-4000-8000-00000000000${n}`;

/** Creates the tutorial's database as its code did: store `pending-messages`, keyPath `id`. */
function createTutorialDb(factory: IDBFactory, records: object[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = factory.open('genesys-webmsg-queue', 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore('pending-messages', { keyPath: 'id' });
    };
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const tx = db.transaction('pending-messages', 'readwrite');
      for (const r of records) tx.objectStore('pending-messages').put(r);
      tx.oncomplete = () => {
        db.close();
        resolve();
      };
      tx.onabort = () => reject(tx.error);
    };
  });
}

function tutorialRecords(factory: IDBFactory): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const req = factory.open('genesys-webmsg-queue');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const get = db.transaction('pending-messages').objectStore('pending-messages').getAll();
      get.onsuccess = () => {
        db.close();
        resolve(get.result);
      };
    };
  });
}

const rec = (n: number, timestamp: number, extra: object = {}) => ({
  id: ID(n),
  guestId: 'guest-1',
  conversationId: 'conv-1',
  text: `hello ${n}`,
  timestamp,
  retryCount: 2,
  nextRetryAt: 4000,
  ...extra,
});

describe('migrateTutorialQueue', () => {
  it('imports in timestamp order, keeps ids, and empties the tutorial store', async () => {
    const indexedDB = new IDBFactory();
    await createTutorialDb(indexedDB, [rec(1, 300), rec(2, 100), rec(3, 200)]);
    const store = memoryStore();
    expect(await migrateTutorialQueue({ indexedDB, store })).toEqual({ imported: 3 });
    const list = await store.list();
    expect(list.map((e) => e.id)).toEqual([ID(2), ID(3), ID(1)]);
    expect(list[0]).toEqual({
      id: ID(2),
      conversationId: 'conv-1',
      text: 'hello 2',
      status: 'pending',
      attempts: 0,
      createdAt: 100,
      metadata: { guestId: 'guest-1' },
      seq: list[0]!.seq,
    });
    expect(await tutorialRecords(indexedDB)).toEqual([]);
  });

  it('running twice (or after an interruption) imports nothing twice', async () => {
    const indexedDB = new IDBFactory();
    await createTutorialDb(indexedDB, [rec(1, 300), rec(2, 100)]);
    const store = memoryStore();
    // An earlier run appended ID(2) but was interrupted before clearing the tutorial store.
    await store.append([
      {
        id: ID(2),
        conversationId: 'conv-1',
        text: 'hello 2',
        status: 'pending',
        attempts: 0,
        createdAt: 100,
      },
    ]);
    expect(await migrateTutorialQueue({ indexedDB, store })).toEqual({ imported: 1 });
    expect(await migrateTutorialQueue({ indexedDB, store })).toEqual({ imported: 0 });
    expect((await store.list()).map((e) => e.id)).toEqual([ID(2), ID(1)]);
    expect(await tutorialRecords(indexedDB)).toEqual([]);
  });

  it('works into an IndexedDB outbox on the same factory', async () => {
    const indexedDB = new IDBFactory();
    await createTutorialDb(indexedDB, [rec(1, 2), rec(2, 1)]);
    const store = indexedDbStore({ indexedDB });
    expect(await migrateTutorialQueue({ indexedDB, store })).toEqual({ imported: 2 });
    expect((await store.heads()).map((e) => e.id)).toEqual([ID(2)]);
    await store.close();
  });

  it('an absent tutorial database: imports 0 and does not create it', async () => {
    const indexedDB = new IDBFactory();
    const store = memoryStore();
    expect(await migrateTutorialQueue({ indexedDB, store })).toEqual({ imported: 0 });
    expect(await indexedDB.databases()).toEqual([]);
  });

  it('without indexedDB.databases(): still does not create the database', async () => {
    const indexedDB = new IDBFactory();
    Object.defineProperty(indexedDB, 'databases', { value: undefined });
    const store = memoryStore();
    expect(await migrateTutorialQueue({ indexedDB, store })).toEqual({ imported: 0 });
    expect(await IDBFactory.prototype.databases.call(indexedDB)).toEqual([]);
  });

  it('uses defaultConversationId for records without one; leaves unusable records in place', async () => {
    const indexedDB = new IDBFactory();
    const noText = rec(3, 1, { text: '' });
    await createTutorialDb(indexedDB, [
      rec(1, 2, { conversationId: undefined }),
      rec(2, 3),
      noText,
    ]);
    const store = memoryStore();
    expect(
      await migrateTutorialQueue({ indexedDB, store, defaultConversationId: 'default' }),
    ).toEqual({ imported: 2 });
    expect((await store.list()).map((e) => [e.id, e.conversationId])).toEqual([
      [ID(1), 'default'],
      [ID(2), 'conv-1'],
    ]);
    expect(await tutorialRecords(indexedDB)).toEqual([noText]);
  });

  it('nothing is deleted from the tutorial store when the import fails', async () => {
    const indexedDB = new IDBFactory();
    await createTutorialDb(indexedDB, [rec(1, 1)]);
    const store = memoryStore();
    await store.close();
    await expect(migrateTutorialQueue({ indexedDB, store })).rejects.toMatchObject({
      code: 'closed',
    });
    expect(await tutorialRecords(indexedDB)).toEqual([rec(1, 1)]);
  });

  it('two tabs migrating at once (no Web Locks): both resolve, every message imported once', async () => {
    const indexedDB = new IDBFactory();
    await createTutorialDb(indexedDB, [rec(1, 1), rec(2, 2), rec(3, 3)]);
    const a = indexedDbStore({ name: 'race', indexedDB });
    const b = indexedDbStore({ name: 'race', indexedDB });
    // Before: the second append was refused (`invalid-id`: the first had stored those ids), and
    // OfflineMessageQueue, which migrates before it starts, failed to open in that tab.
    const [x, y] = await Promise.all([
      migrateTutorialQueue({ store: a, indexedDB }),
      migrateTutorialQueue({ store: b, indexedDB }),
    ]);
    expect(x.imported + y.imported).toBe(3);
    expect((await a.list()).map((e) => e.text)).toEqual(['hello 1', 'hello 2', 'hello 3']);
    expect(await tutorialRecords(indexedDB)).toEqual([]);
  });

  it('with Web Locks, a second tab waits for the first and imports nothing (nothing is read twice)', async () => {
    const indexedDB = new IDBFactory();
    await createTutorialDb(indexedDB, [rec(1, 1), rec(2, 2)]);
    const held: string[] = [];
    let chain: Promise<unknown> = Promise.resolve();
    const locks = {
      request: (name: string, fn: () => Promise<unknown>) => {
        held.push(name);
        const run = chain.then(fn);
        chain = run.catch(() => {});
        return run;
      },
    };
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', { value: { locks }, configurable: true });
    try {
      const store = indexedDbStore({ name: 'locked', indexedDB });
      const [x, y] = await Promise.all([
        migrateTutorialQueue({ store, indexedDB }),
        migrateTutorialQueue({ store, indexedDB }),
      ]);
      expect([x.imported, y.imported]).toEqual([2, 0]);
      expect(held).toEqual([
        'genesys-webmessaging-outbox:tutorial-migration',
        'genesys-webmessaging-outbox:tutorial-migration',
      ]);
    } finally {
      if (saved) Object.defineProperty(globalThis, 'navigator', saved);
      else delete (globalThis as { navigator?: unknown }).navigator;
    }
  });
});
