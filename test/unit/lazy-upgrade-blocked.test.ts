// Issue 15: an open blocked by another tab (it holds an older version open and does not close on
// versionchange) is handled by the IndexedDB store's upgrade chunk (store/indexedDbUpgrade.ts),
// like every open that must make or upgrade the layout. With the chunk on its way the open waits
// for it; the bounded wait (`blockedTimeoutMs`) counts from its arrival, then the open rejects
// with storage-failed. Once the old tab is gone the next open upgrades, keeping what the
// database held. (An unfetchable chunk rejects every open that needs it with storage-failed:
// lazy-upgrade.test.ts.)
import { IDBFactory } from 'fake-indexeddb';
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { indexedDbStore } from '../../src/store/indexedDb.js';

const chunk = vi.hoisted(() => ({ gate: Promise.resolve() }));

vi.mock('../../src/store/indexedDbUpgrade.js', async (importOriginal) => {
  await chunk.gate;
  return importOriginal();
});

/** A v1 database `name` with one meta value, left open by a tab that never yields. */
function oldTab(indexedDB: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore('entries', { keyPath: 'id' }).createIndex('seq', 'seq');
      req.result.createObjectStore('meta');
      req.transaction!.objectStore('meta').put('tok', 'session');
    };
    req.onsuccess = () => {
      req.result.onversionchange = null;
      resolve(req.result);
    };
    req.onerror = () => reject(req.error);
  });
}

const settledWithin = async (p: Promise<unknown>, ms: number): Promise<unknown> =>
  Promise.race([
    p.then(
      () => 'resolved',
      (e: unknown) => e,
    ),
    new Promise((r) => setTimeout(() => r('pending'), ms)),
  ]);

describe('a blocked open is handled by the upgrade chunk', () => {
  it('on its way: the open waits for it, then the bounded wait; the next open upgrades once the old tab is gone', async () => {
    const indexedDB = new IDBFactory();
    const old = await oldTab(indexedDB, 'blocked');
    // Slow: no give-up while it is on its way, though 50 ms pass.
    let open!: () => void;
    chunk.gate = new Promise<void>((r) => (open = r));
    const store = indexedDbStore({ name: 'blocked', indexedDB, blockedTimeoutMs: 50 });
    const opening = store.open();
    expect(await settledWithin(opening, 200)).toBe('pending');
    open();
    const gaveUp = await settledWithin(opening, 1000);
    expect(gaveUp).toMatchObject({ code: 'storage-failed' });
    expect((gaveUp as Error).message).toMatch(/blocked/);

    old.close();
    await store.open();
    expect(await store.getMeta('session')).toBe('tok');
    await store.close();
  });
});
