import { OutboxError, isOutboxError } from '../errors/OutboxError.js';
import type { NewEntry } from '../outbox/entry.js';
import type { OutboxStore } from './OutboxStore.js';

/** Where the tutorial this library grew from kept its queue. */
const TUTORIAL_DB = 'genesys-webmsg-queue';
const TUTORIAL_STORE = 'pending-messages';

/** Options of {@link migrateTutorialQueue}. */
export interface MigrateTutorialOptions {
  /** The outbox store to import into. */
  store: OutboxStore;
  /** @default globalThis.indexedDB */
  indexedDB?: IDBFactory;
  /** For tutorial records without a `conversationId`; without it such records stay where they are. */
  defaultConversationId?: string;
}

const settle = <T>(request: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

/** Opens the tutorial database if it exists; never creates it. */
async function openExisting(factory: IDBFactory): Promise<IDBDatabase | undefined> {
  if (typeof factory.databases === 'function') {
    const dbs = await factory.databases();
    if (!dbs.some((d) => d.name === TUTORIAL_DB)) return undefined;
  }
  let created = false;
  const db = await new Promise<IDBDatabase | undefined>((resolve, reject) => {
    const request = factory.open(TUTORIAL_DB);
    request.onupgradeneeded = (event) => {
      // Only happens when the database did not exist: refuse to create it.
      if (event.oldVersion === 0) {
        created = true;
        request.transaction?.abort();
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = (event) => {
      event.preventDefault();
      if (created) resolve(undefined);
      else reject(request.error);
    };
    // Blocked means it exists and another tab upgrades it; the tutorial code never does.
  });
  if (created) {
    // Some engines keep an empty version-0 database after an aborted creation: remove it.
    await new Promise<void>((resolve) => {
      const del = factory.deleteDatabase(TUTORIAL_DB);
      del.onsuccess = del.onerror = del.onblocked = () => resolve();
    });
  }
  return db;
}

/**
 * Imports the messages the tutorial's `OfflineMessageQueue` left unsent (IndexedDB database
 * `genesys-webmsg-queue`, store `pending-messages`) into an outbox store, oldest `timestamp`
 * first, keeping their ids (the idempotency keys), then deletes them from the tutorial's store —
 * only after the import committed. Ids already in the outbox are skipped, so an interrupted
 * migration can simply run again. A missing tutorial database is not created. Records that are
 * not usable (no id, no text, no conversation, no finite timestamp) are left where they are.
 *
 * @example
 * const { imported } = await migrateTutorialQueue({ store });
 */
export async function migrateTutorialQueue(
  options: MigrateTutorialOptions,
): Promise<{ imported: number }> {
  // Tabs opening at once each migrate: where Web Locks exist, one at a time, so the second reads
  // the tutorial store after the first emptied it (it could otherwise import again a message the
  // first tab had already delivered and removed).
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  if (locks === undefined) return migrateOnce(options);
  let result = { imported: 0 };
  await locks.request(MIGRATION_LOCK, async () => {
    result = await migrateOnce(options);
  });
  return result;
}

const MIGRATION_LOCK = 'genesys-webmessaging-outbox:tutorial-migration';

async function migrateOnce(options: MigrateTutorialOptions): Promise<{ imported: number }> {
  const factory = options.indexedDB ?? globalThis.indexedDB;
  if (factory === undefined) return { imported: 0 };
  let raw: IDBDatabase | undefined;
  try {
    raw = await openExisting(factory);
    if (raw === undefined || !raw.objectStoreNames.contains(TUTORIAL_STORE)) {
      return { imported: 0 };
    }
    // Keys and values in one read: both come back in key order.
    const read = raw.transaction(TUTORIAL_STORE).objectStore(TUTORIAL_STORE);
    const [keys, values] = await Promise.all([settle(read.getAllKeys()), settle(read.getAll())]);
    const found: { key: IDBValidKey; value: Record<string, unknown> }[] = [];
    values.forEach((v: unknown, i) => {
      if (typeof v === 'object' && v !== null) {
        found.push({ key: keys[i] as IDBValidKey, value: v as Record<string, unknown> });
      }
    });

    const usable: { key: IDBValidKey; entry: NewEntry }[] = [];
    for (const { key, value: r } of found) {
      const conversationId =
        typeof r['conversationId'] === 'string' && r['conversationId'] !== ''
          ? r['conversationId']
          : options.defaultConversationId;
      const { id, text, timestamp, guestId } = r;
      if (typeof id !== 'string' || id === '' || typeof text !== 'string' || text.trim() === '')
        continue;
      if (
        conversationId === undefined ||
        typeof timestamp !== 'number' ||
        !Number.isFinite(timestamp)
      )
        continue;
      const entry: NewEntry = {
        id,
        conversationId,
        text,
        status: 'pending',
        attempts: 0,
        createdAt: timestamp,
      };
      if (typeof guestId === 'string') entry.metadata = { guestId };
      usable.push({ key, entry });
    }
    usable.sort((a, b) => a.entry.createdAt - b.entry.createdAt);

    // Skip what an earlier, interrupted run already imported. Another tab migrating at the same
    // time (no Web Locks) may store some of them first: the append is refused as a whole
    // (`invalid-id`), and the ones still missing are appended again.
    const unique: NewEntry[] = [];
    const seen = new Set<string>();
    for (const { entry } of usable) {
      if (!seen.has(entry.id)) unique.push(entry);
      seen.add(entry.id);
    }
    let fresh: NewEntry[] = [];
    for (let attempt = 0; ; attempt++) {
      fresh = [];
      for (const entry of unique) {
        if ((await options.store.get(entry.id)) === undefined) fresh.push(entry);
      }
      if (fresh.length === 0) break;
      try {
        await options.store.append(fresh); // resolves only once committed
        break;
      } catch (e: unknown) {
        if (!isOutboxError(e) || e.code !== 'invalid-id' || attempt >= 3) throw e;
      }
    }

    if (usable.length > 0) {
      const tx = raw.transaction(TUTORIAL_STORE, 'readwrite');
      for (const u of usable) tx.objectStore(TUTORIAL_STORE).delete(u.key);
      await new Promise<void>((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onabort = () => reject(tx.error);
      });
    }
    return { imported: fresh.length };
  } catch (e: unknown) {
    if (isOutboxError(e)) throw e;
    throw new OutboxError('storage-failed', 'Could not migrate the tutorial queue', { cause: e });
  } finally {
    raw?.close();
  }
}
