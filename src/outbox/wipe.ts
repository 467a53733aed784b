import type { OutboxStore } from '../store/OutboxStore.js';

/** The tutorial's database (see `migrateTutorialQueue`): it may still hold a visitor's messages. */
const TUTORIAL_DB = 'genesys-webmsg-queue';

/**
 * The local half of `Outbox.wipe()` (loaded only when it is called): the store's own `wipe()`
 * (every record, from the storage itself), else the entries and the transcripts of the
 * conversations it can name, one by one; then the tutorial's old database and the outbox's lease
 * database, where IndexedDB exists. Other tabs have been told to close by then.
 */
export async function wipeLocal(
  store: OutboxStore,
  name: string,
  conversations: readonly string[],
): Promise<void> {
  if (store.wipe) await store.wipe();
  else {
    const entries = await store.list();
    for (const e of entries) await store.remove(e.id);
    for (const c of new Set([...conversations, ...entries.map((e) => e.conversationId)])) {
      await store.pruneTranscript(c, 0);
    }
    await store.close();
  }
  const factory = globalThis.indexedDB as IDBFactory | undefined;
  if (factory === undefined) return;
  for (const db of [TUTORIAL_DB, `${name}:lease`]) {
    // Best effort: a blocked delete completes once the last tab lets go of it.
    await new Promise<void>((resolve) => {
      const request = factory.deleteDatabase(db);
      request.onsuccess = request.onerror = request.onblocked = () => resolve();
    });
  }
}
