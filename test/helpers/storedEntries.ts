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
