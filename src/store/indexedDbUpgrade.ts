// The IndexedDB store's layout: the open that makes a new database's or upgrades an older one
// (from schemas v1-v6), and waits out another tab that holds an older version open. A chunk
// fetched when the store opens (issue 15), needed only where no database or one of an older
// version is found (a brand-new visitor's first open waits for it). Part of the store's private
// schema.
import type { IdbLib } from './indexedDb.js';
import type * as Idb from './indexedDb.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- IDB values are untyped at this boundary */
/**
 * Makes the current layout of a new database (`oldVersion` 0: `entries` keyed by `id` with the
 * `heads` index on `[queueConversationId, seq]` and the unique multiEntry index `ids` on `ids`,
 * `meta`, `transcript` keyed by `key` with `byOrder` on `[conversationId, order, time, n]`,
 * `quarantine`), or upgrades the schema of a database made by an older version, step by step from
 * `oldVersion`; no step ever deletes data.
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
 * - v6: the queued entries of one conversation written by one append were a run: its first entry
 *   held the ids of the others (`rest`), which were records of their own outside `heads`.
 * - v7: a run is one record (a pack: the first entry, the others in `pack`), and every record lists
 *   the ids it holds in `ids`, a unique multiEntry index (an entry is found by id wherever it is,
 *   and no id is stored twice). The upgrade gives every record its `ids` and folds each v6 run
 *   into its holder: the members still stored and queued in its conversation go into `pack`
 *   (their records are deleted in the same transaction), any other stays a record of its own.
 */
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
  const IDS: typeof Idb.IDS = 'ids';
  const BY_ORDER: typeof Idb.BY_ORDER = 'byOrder';
  const NOT_QUEUED: never[] = [];
  const QUARANTINE: typeof Idb.QUARANTINE = 'quarantine';
  const byOrder = ['conversationId', 'order', 'time', 'n'];
  const heads = ['queueConversationId', 'seq'];
  const unique = { unique: true, multiEntry: true };
  if (oldVersion < 1) {
    const entries = db.createObjectStore(ENTRIES, { keyPath: 'id' });
    entries.createIndex(HEADS, heads);
    entries.createIndex(IDS, IDS, unique);
    db.createObjectStore('meta' satisfies typeof Idb.META);
    db.createObjectStore(TRANSCRIPT, { keyPath: 'key' }).createIndex(BY_ORDER, byOrder);
    db.createObjectStore(QUARANTINE, { autoIncrement: true });
    return;
  }
  const entries = tx.objectStore(ENTRIES);
  if (oldVersion < 2) {
    entries.createIndex(HEADS, heads);
    db.createObjectStore(TRANSCRIPT, { keyPath: 'key' });
    db.createObjectStore(QUARANTINE, { autoIncrement: true });
  }
  if (oldVersion < 7) {
    entries.createIndex(IDS, IDS, unique);
    // One pass over every entry: v5's index field (queued entries of v1, entries that are not
    // queued in the NOT_QUEUED group), v7's `ids`; v6's run holders are folded once it is done.
    const holders: any[] = [];
    const taken = new Set<unknown>(); // a member listed by two holders goes into the first one
    const request = entries.openCursor();
    request.onsuccess = () => {
      const cursor = request.result;
      if (!cursor) {
        for (const h of holders) fold(h);
        return;
      }
      const v: any = cursor.value;
      if (v && typeof v === 'object') {
        const next = { ...v, ids: [v.id] };
        if (oldVersion < 5 && !isQueued(v.status)) next.queueConversationId = NOT_QUEUED;
        else if (oldVersion < 5 && v.queueConversationId === undefined)
          next.queueConversationId = v.conversationId;
        if (Array.isArray(v.rest)) holders.push(next);
        else cursor.update(next);
      }
      cursor.continue();
    };
    /** A v6 holder and the members of its run still stored and queued: one record. */
    const fold = (holder: any) => {
      const { rest, top: _t, ...record } = holder;
      const pack: any[] = []; // by place in `rest`: members that are gone leave holes
      let waiting = rest.length;
      const done = () => {
        const kept = pack.filter(Boolean);
        if (kept.length > 0) {
          record.pack = kept;
          record.ids = [record.id, ...kept.map((m) => m.id)];
        }
        entries.put(record);
      };
      if (waiting === 0) done();
      rest.forEach((id: unknown, i: number) => {
        const got = entries.get(id as IDBValidKey);
        got.onsuccess = () => {
          const m: any = got.result;
          if (
            m &&
            typeof m === 'object' &&
            m.queueConversationId === undefined &&
            isQueued(m.status) &&
            m.conversationId === record.conversationId &&
            !taken.has(id)
          ) {
            taken.add(id);
            const { ids: _i, top: _u, rest: _r, ...member } = m;
            pack[i] = member;
            entries.delete(id as IDBValidKey);
          }
          if (--waiting === 0) done();
        };
      });
    };
  }
  const transcript = tx.objectStore(TRANSCRIPT);
  if (oldVersion < 3) {
    transcript.createIndex(BY_ORDER, byOrder);
    if (oldVersion >= 2) {
      const request = transcript.openCursor();
      request.onsuccess = () => {
        const cursor = request.result;
        if (!cursor) return;
        const v: any = cursor.value;
        if (v && typeof v === 'object' && v.order === undefined)
          cursor.update({ ...v, order: v.time * 1000 });
        cursor.continue();
      };
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
  const version: typeof Idb.SCHEMA_VERSION = 7;
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
