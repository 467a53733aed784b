// Issue 15: a new database's layout is made by the IndexedDB store's upgrade chunk
// (store/indexedDbUpgrade.ts, fetched when the store opens), not by the first load: a brand-new
// visitor's first open (and so createOutbox, and a send()) waits for it; if it cannot be fetched
// the open rejects with storage-failed and no database is made, and the next open fetches it
// again. (A page that opened its database before needs no chunk to open and store.)
import { IDBFactory } from 'fake-indexeddb';
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import { rejectionCode } from '../helpers/errorCode.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
import { silentLogger } from '../../src/internal/logger.js';

const chunk = vi.hoisted(() => ({ fetches: 0, failing: false, gate: Promise.resolve() }));

vi.mock('../../src/store/indexedDbUpgrade.js', async (importOriginal) => {
  chunk.fetches++;
  if (chunk.failing) throw new TypeError('Failed to fetch dynamically imported module');
  await chunk.gate;
  return importOriginal();
});

/** The names of the databases of `indexedDB`. */
const databases = async (indexedDB: IDBFactory): Promise<string[]> =>
  (await indexedDB.databases()).map((d) => d.name ?? '');

describe('a new database is made by the same chunk (a brand-new visitor waits for it)', () => {
  it('unfetchable: storage-failed, no database made, createOutbox rejects; on its way: createOutbox and send() wait; the next open fetches it again', async () => {
    const indexedDB = new IDBFactory();
    chunk.failing = true;
    chunk.gate = Promise.resolve();
    const fetches = chunk.fetches;
    const store = indexedDbStore({ name: 'first-visit', indexedDB });
    expect(await rejectionCode(store.open())).toBe('storage-failed');
    expect(chunk.fetches).toBeGreaterThan(fetches);
    expect(await databases(indexedDB)).not.toContain('first-visit'); // nothing created

    // An outbox on it: createOutbox rejects (coded), nothing stored, no database left behind.
    const { createOutbox } = await import('../../src/outbox/createOutbox.js');
    const outboxOn = (s: ReturnType<typeof indexedDbStore>) =>
      createOutbox({
        transport: new ScriptedTransport(),
        store: s,
        coordinator: false,
        logger: silentLogger,
      });
    expect(await rejectionCode(outboxOn(indexedDbStore({ name: 'first-visit', indexedDB })))).toBe(
      'storage-failed',
    );
    expect(await databases(indexedDB)).not.toContain('first-visit');

    // Reachable again, but slow: the open (and so createOutbox, and any send) waits for it.
    let open!: () => void;
    chunk.gate = new Promise<void>((r) => (open = r));
    chunk.failing = false;
    let created = false;
    const creating = outboxOn(store).then((o) => ((created = true), o));
    await new Promise((r) => setTimeout(r, 30));
    expect(created).toBe(false);
    expect(await databases(indexedDB)).not.toContain('first-visit');

    open();
    const outbox = await creating;
    const entry = await outbox.send({ text: 'first message of a new visitor' });
    expect((await store.heads()).map((e) => [e.id, e.text])).toEqual([
      [entry.id, 'first message of a new visitor'],
    ]);
    await outbox.close();
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open('first-visit');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    expect([db.version, [...db.objectStoreNames].sort()]).toEqual([
      7,
      ['entries', 'meta', 'quarantine', 'transcript'],
    ]);
    db.close();
  });
});
