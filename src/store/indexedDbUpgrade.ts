// The IndexedDB store's layout: the open that makes a new database's or upgrades an older one
// (from schemas v1-v5), and waits out another tab that holds an older version open. A chunk
// fetched when the store opens (issue 15), needed only where no database or one of an older
// version is found (a brand-new visitor's first open waits for it). Part of the store's private
// schema.
import type { IdbLib } from './indexedDb.js';
import type * as Idb from './indexedDb.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- IDB values are untyped at this boundary */
/**
 * Makes the current layout of a new database (`oldVersion` 0: `entries` keyed by `id` with the
 * `heads` index on `[queueConversationId, seq]`, `meta`, `transcript` keyed by `key` with
 * `byOrder` on `[conversationId, order, time, n]`, `quarantine`), or upgrades the schema of a
 * database made by an older version, step by step from `oldVersion`; no step ever deletes data.
 * - v1: `entries` (keyPath `id`, index `seq`), `meta` (out-of-line keys).
 * - v2: sparse index `heads` on `[queueConversationId, seq]` (the field was set only while an
 *   entry is pending or sending), `transcript` (keyPath `key`, index `byTime` on `[conversationId, time, n]`),
 *   `quarantine` (auto-increment; corrupt records moved aside).
 * - v3: index `byOrder` on `[conversationId, order, time, n]` of `transcript` (design rule 13: a
 *   line's place is fixed when written); existing records get `order = time × 1000`, their old
 *   place.
 * - v4: the `seq` index gave way to a sparse index `top` (one entry per write transaction);
 *   `byTime` (unused since v3) is dropped.
 * - v5: no index but `heads`, so a single-message write maintains one index entry; entries that
 *   are not queued are in it too, past every conversation (`NOT_QUEUED`). The highest key ever
 *   stored is the last key of a group of `heads` or the high-water mark in meta (`HIGH_KEY`,
 *   raised by every removal). The upgrade puts every entry in `heads` (it rewrites the failed
 *   ones, and v1's queued ones) and drops the `seq` or `top` index; v4's mark stays.
 * - v6: the same stores and indexes; the queued entries of one conversation written by one
 *   append are a run, of which only the first is in `heads` (see `writeRuns` in
 *   indexedDbOps.ts). A v5 database is a valid v6 one as it is (every entry its own run), so the
 *   step changes nothing; the version says that older code, which would not see a run's members,
 *   must not open it.
 */
/** Rewrites, inside the upgrade transaction, every record of `store` for which `change` returns one. */
function backfill(store: IDBObjectStore, change: (v: any) => object | undefined): void {
  const request = store.openCursor();
  request.onsuccess = () => {
    const cursor = request.result;
    if (!cursor) return;
    const v: unknown = cursor.value;
    const next = v && typeof v === 'object' ? change(v) : undefined;
    if (next) cursor.update(next);
    cursor.continue();
  };
}

export function upgradeSchema(
  db: IDBDatabase,
  oldVersion: number,
  tx: IDBTransaction,
  lib: IdbLib,
): void {
  const { isQueued } = lib;
  // The schema's names (see indexedDb.ts), written out rather than handed over by the first load.
  const ENTRIES: typeof Idb.ENTRIES = 'entries';
  const TRANSCRIPT: typeof Idb.TRANSCRIPT = 'transcript';
  const HEADS: typeof Idb.HEADS = 'heads';
  const BY_ORDER: typeof Idb.BY_ORDER = 'byOrder';
  const NOT_QUEUED: never[] = [];
  const QUARANTINE: typeof Idb.QUARANTINE = 'quarantine';
  const byOrder = ['conversationId', 'order', 'time', 'n'];
  if (oldVersion < 1) {
    db.createObjectStore(ENTRIES, { keyPath: 'id' }).createIndex(HEADS, [
      'queueConversationId',
      'seq',
    ]);
    db.createObjectStore('meta' satisfies typeof Idb.META);
    db.createObjectStore(TRANSCRIPT, { keyPath: 'key' }).createIndex(BY_ORDER, byOrder);
    db.createObjectStore(QUARANTINE, { autoIncrement: true });
    return;
  }
  const entries = tx.objectStore(ENTRIES);
  if (oldVersion < 2) {
    entries.createIndex(HEADS, ['queueConversationId', 'seq']);
    db.createObjectStore(TRANSCRIPT, { keyPath: 'key' });
    db.createObjectStore(QUARANTINE, { autoIncrement: true });
  }
  if (oldVersion < 5) {
    // Into `heads`: queued entries of v1, entries that are not queued (v5's NOT_QUEUED group).
    backfill(entries, (v) =>
      !isQueued(v.status)
        ? { ...v, queueConversationId: NOT_QUEUED }
        : v.queueConversationId === undefined
          ? { ...v, queueConversationId: v.conversationId }
          : undefined,
    );
  }
  const transcript = tx.objectStore(TRANSCRIPT);
  if (oldVersion < 3) {
    transcript.createIndex(BY_ORDER, byOrder);
    if (oldVersion >= 2) {
      backfill(transcript, (v) =>
        v.order === undefined ? { ...v, order: v.time * 1000 } : undefined,
      );
    }
  }
  if (transcript.indexNames.contains('byTime')) transcript.deleteIndex('byTime');
  for (const name of ['seq', 'top']) {
    if (entries.indexNames.contains(name)) entries.deleteIndex(name);
  }
}

/**
 * Opens database `name` at the current version, making or upgrading its layout (the first load's
 * open found none, or an older one, and changed nothing: see `openDb` in indexedDb.ts). An open
 * blocked for `blockedTimeoutMs` (another tab holds an older version open and does not close it
 * on `versionchange`) rejects with storage-failed, counted from now when the first load's open was
 * `blocked` already; a connection that opens after that is closed at once.
 */
export function openUpgraded(
  idb: IDBFactory,
  name: string,
  blocked: boolean,
  blockedTimeoutMs: number,
  lib: IdbLib,
): Promise<IDBDatabase> {
  const version: typeof Idb.SCHEMA_VERSION = 6;
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let gaveUp = false;
    const wait = () => {
      timer ??= setTimeout(() => {
        gaveUp = true;
        reject(new lib.OutboxError('storage-failed', 'IndexedDB: open blocked by another tab'));
      }, blockedTimeoutMs);
    };
    const request = idb.open(name, version);
    request.onupgradeneeded = (event) => {
      try {
        upgradeSchema(request.result, event.oldVersion, request.transaction as IDBTransaction, lib);
      } catch {
        request.transaction?.abort(); // the open request then fails: storage-failed
      }
    };
    request.onblocked = wait;
    if (blocked) wait();
    request.onerror = (event) => {
      clearTimeout(timer);
      event.preventDefault();
      reject(request.error);
    };
    request.onsuccess = () => {
      clearTimeout(timer);
      if (gaveUp) request.result.close();
      else resolve(request.result);
    };
  });
}
