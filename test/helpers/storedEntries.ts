import type { StoredEntry } from '../../src/outbox/entry.js';
import { indexedDbStore } from '../../src/store/indexedDb.js';

/**
 * What the IndexedDB database `name` holds, read through a second store instance (another tab's
 * view of it): proof that a send() committed, whatever the outbox that wrote it still holds.
 */
export async function storedEntries(name: string): Promise<StoredEntry[]> {
  const other = indexedDbStore({ name });
  await other.open();
  try {
    return await other.list();
  } finally {
    await other.close();
  }
}

/**
 * The records of the `entries` object store of database `name`, read with plain IndexedDB calls
 * (no code of the library: for a test in which the store's own chunk is held back).
 */
export function rawEntries(name: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(name);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const all = db.transaction('entries').objectStore('entries').getAll();
      all.onerror = () => reject(all.error);
      all.onsuccess = () => {
        db.close();
        resolve(all.result as Record<string, unknown>[]);
      };
    };
  });
}
