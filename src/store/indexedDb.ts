import { readOptions } from '../internal/options.js';
import { unwrap, wrap, type IDBPDatabase, type IDBPTransaction } from 'idb';
import { OutboxError, isOutboxError } from '../errors/OutboxError.js';
import { copyEntry } from '../outbox/entry.js';
import type { NewEntry, StoredEntry } from '../outbox/entry.js';
import type { OutboxStore, TranscriptRecord } from './OutboxStore.js';
import { invalidEntry } from './validate.js';

/** Options of {@link indexedDbStore}. */
export interface IndexedDbStoreOptions {
  /** Database name; one outbox per name. @default 'genesys-webmessaging-outbox' */
  name?: string;
  /**
   * The IndexedDB factory. Its classes (`IDBRequest`, `IDBTransaction`, …) must also be the
   * globals, because `idb` recognises them with `instanceof` (with fake-indexeddb in Node:
   * `import 'fake-indexeddb/auto'`, then pass `new IDBFactory()`).
   * @default globalThis.indexedDB
   */
  indexedDB?: IDBFactory;
  /**
   * Durability hint for write transactions. `'strict'` also survives a power cut, at the price of
   * an fsync per write; `'relaxed'` (Chromium's default) survives a tab or browser crash.
   * @default 'default' (the browser's own default)
   */
  durability?: 'default' | 'strict' | 'relaxed';
  /** Told about every record that failed validation and was moved to the `quarantine` store. */
  onCorrupt?: (info: { key: unknown; reason: string }) => void;
  /**
   * How long to wait when opening is blocked by another tab holding an older version open
   * before rejecting with `storage-failed`. @default 10000
   */
  blockedTimeoutMs?: number;
}

/** Current schema version; see {@link upgradeSchema}. */
export const SCHEMA_VERSION = 3;
/** Internal meta keys are arrays, so they never collide with the string keys of `setMeta`. */
const TRANSCRIPT_N_KEY = ['tn'];
const ENTRIES = 'entries';
const META = 'meta';
const TRANSCRIPT = 'transcript';
const QUARANTINE = 'quarantine';

/* eslint-disable @typescript-eslint/no-explicit-any -- IDB values are untyped at this boundary */
type DB = IDBPDatabase<unknown>;
type Tx<M extends IDBTransactionMode> = IDBPTransaction<unknown, string[], M>;
type EntryRecord = StoredEntry & { queueConversationId?: string };

const isQueued = (status: unknown): boolean => status === 'pending' || status === 'sending';

/**
 * Creates or upgrades the schema, step by step from `oldVersion`; no step ever deletes data.
 * - v1: `entries` (keyPath `id`, index `seq`), `meta` (out-of-line keys).
 * - v2: sparse index `heads` on `[queueConversationId, seq]` (the field is set only while an
 *   entry is pending or sending, so failed entries are not in it; existing records are
 *   backfilled), `transcript` (keyPath `key`, index `byTime` on `[conversationId, time, n]`),
 *   `quarantine` (auto-increment; corrupt records moved aside).
 * - v3: index `byOrder` on `[conversationId, order, time, n]` of `transcript` (design rule 13: a
 *   line's place is fixed when written); existing records get `order = time × 1000`, their old
 *   place.
 */
function upgradeSchema(db: IDBDatabase, oldVersion: number, tx: IDBTransaction): void {
  if (oldVersion < 1) {
    db.createObjectStore(ENTRIES, { keyPath: 'id' }).createIndex('seq', 'seq');
    db.createObjectStore(META);
  }
  if (oldVersion < 2) {
    const entries = tx.objectStore(ENTRIES);
    entries.createIndex('heads', ['queueConversationId', 'seq']);
    db.createObjectStore(TRANSCRIPT, { keyPath: 'key' }).createIndex('byTime', [
      'conversationId',
      'time',
      'n',
    ]);
    db.createObjectStore(QUARANTINE, { autoIncrement: true });
    if (oldVersion >= 1) {
      entries.openCursor().onsuccess = function () {
        const cursor = this.result;
        if (!cursor) return;
        const v = cursor.value as any;
        if (
          v &&
          typeof v === 'object' &&
          isQueued(v.status) &&
          v.queueConversationId === undefined
        ) {
          cursor.update({ ...v, queueConversationId: v.conversationId });
        }
        cursor.continue();
      };
    }
  }
  if (oldVersion < 3) {
    const transcript = tx.objectStore(TRANSCRIPT);
    transcript.createIndex('byOrder', ['conversationId', 'order', 'time', 'n']);
    if (oldVersion >= 2) {
      transcript.openCursor().onsuccess = function () {
        const cursor = this.result;
        if (!cursor) return;
        const v = cursor.value as any;
        if (v && typeof v === 'object' && v.order === undefined) {
          cursor.update({ ...v, order: v.time * 1000 });
        }
        cursor.continue();
      };
    }
  }
}

/**
 * The stored record: the entry plus the `heads` index field while it is queued, and never that
 * field otherwise (a failed entry must not hold its conversation).
 */
function toRecord(entry: StoredEntry): EntryRecord {
  if (isQueued(entry.status)) return { ...entry, queueConversationId: entry.conversationId };
  return 'queueConversationId' in entry ? fromRecord(entry as EntryRecord) : entry;
}

function fromRecord(r: EntryRecord): StoredEntry {
  const { queueConversationId: _q, ...entry } = r;
  return entry;
}

function fromTranscript(r: TranscriptRecord & { n?: number }): TranscriptRecord {
  const { n: _n, ...record } = r;
  return record;
}

function isQuota(e: unknown, depth = 0): boolean {
  if (typeof e !== 'object' || e === null || depth > 3) return false;
  const x = e as { name?: unknown; code?: unknown; cause?: unknown; inner?: unknown };
  return (
    x.name === 'QuotaExceededError' ||
    x.name === 'NS_ERROR_DOM_QUOTA_REACHED' || // old Firefox
    (x.name !== undefined && x.code === 22) || // legacy DOMException.QUOTA_EXCEEDED_ERR
    isQuota(x.cause, depth + 1) ||
    isQuota(x.inner, depth + 1)
  );
}

const nameOf = (e: unknown): unknown =>
  typeof e === 'object' && e !== null ? (e as { name?: unknown }).name : undefined;

function storageError(e: unknown, txError?: unknown): OutboxError {
  if (isOutboxError(e)) return e;
  if (isQuota(e) || isQuota(txError)) {
    return new OutboxError('storage-full', 'IndexedDB: quota exceeded', { cause: e });
  }
  const name = nameOf(e);
  return new OutboxError(
    'storage-failed',
    `IndexedDB failed${typeof name === 'string' ? `: ${name}` : ''}`,
    { cause: e },
  );
}

/**
 * Errors after which the connection is presumed lost (closed under us, WebKit's "Connection to
 * Indexed Database server lost", an abort nobody asked for): reopen and retry once. Retrying is
 * safe because an aborted transaction committed nothing.
 */
const connectionLost = (e: unknown): boolean =>
  !isOutboxError(e) &&
  !isQuota(e) &&
  ['InvalidStateError', 'UnknownError', 'AbortError', 'TransactionInactiveError'].includes(
    nameOf(e) as string,
  );

/**
 * The browser store: IndexedDB through `idb`. Group commit (one transaction per `append`),
 * a monotonic `seq` (see `allocate`) written in the same transaction as the entries, `heads()`
 * by one index cursor that jumps from conversation to conversation, corrupt records moved to
 * `quarantine`, reopen after an unexpected close, close on `versionchange` so other tabs can
 * upgrade.
 *
 * @example
 * const outbox = await createOutbox({ transport, store: indexedDbStore({ name: 'support-chat' }) });
 */
export function indexedDbStore(input: IndexedDbStoreOptions = {}): OutboxStore {
  const options = readOptions(
    'indexedDbStore',
    input,
    'name indexedDB durability onCorrupt blockedTimeoutMs',
  );
  const name = options.name ?? 'genesys-webmessaging-outbox';
  const blockedTimeoutMs = options.blockedTimeoutMs ?? 10_000;
  const txOptions: IDBTransactionOptions | undefined =
    options.durability === undefined || options.durability === 'default'
      ? undefined
      : { durability: options.durability };
  let closed = false;
  /** The connection in use (or being opened); cleared when it is lost or yielded. */
  let connection: Promise<DB> | undefined;

  const closedError = (): OutboxError => new OutboxError('closed', 'store closed');

  const openDb = (onLost: () => void): Promise<DB> =>
    new Promise<DB>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let gaveUp = false;
      const factory = options.indexedDB ?? globalThis.indexedDB;
      let request: IDBOpenDBRequest;
      try {
        request = factory.open(name, SCHEMA_VERSION);
      } catch (e: unknown) {
        reject(storageError(e));
        return;
      }
      request.onupgradeneeded = (event) => {
        try {
          upgradeSchema(request.result, event.oldVersion, request.transaction as IDBTransaction);
        } catch {
          request.transaction?.abort(); // the open request then fails: storage-failed
        }
      };
      request.onblocked = () => {
        // Another tab keeps an older version open and did not close on versionchange.
        timer ??= setTimeout(() => {
          gaveUp = true;
          reject(new OutboxError('storage-failed', 'IndexedDB: open blocked by another tab'));
        }, blockedTimeoutMs);
      };
      request.onerror = (event) => {
        clearTimeout(timer);
        event.preventDefault();
        reject(storageError(request.error));
      };
      request.onsuccess = () => {
        clearTimeout(timer);
        const raw = request.result;
        if (gaveUp || closed) {
          raw.close();
          if (closed) reject(closedError());
          return;
        }
        // Unexpected close (storage cleared, WebKit connection lost): reopen on the next call.
        raw.addEventListener('close', onLost);
        // Another tab wants to upgrade: step aside, reopen lazily on the next call.
        raw.addEventListener('versionchange', () => {
          raw.close();
          onLost();
        });
        resolve(wrap(raw) as DB);
      };
    });

  const getConnection = (): Promise<DB> => {
    if (closed) return Promise.reject(closedError());
    if (!connection) {
      const p: Promise<DB> = openDb(() => {
        if (connection === p) connection = undefined;
      });
      connection = p;
      p.catch(() => {
        if (connection === p) connection = undefined;
      });
    }
    return connection;
  };

  const runOnce = async <T, M extends IDBTransactionMode>(
    db: DB,
    stores: string[],
    mode: M,
    body: (tx: Tx<M>) => Promise<T>,
  ): Promise<T> => {
    const tx = db.transaction(stores, mode, mode === 'readwrite' ? txOptions : undefined);
    const done = tx.done;
    done.catch(() => {}); // observed below; never an unhandled rejection
    let result: T;
    try {
      result = await body(tx);
    } catch (e: unknown) {
      try {
        tx.abort();
      } catch {
        // already finished or aborting
      }
      await done.catch(() => {});
      throw storageError(e, tx.error);
    }
    try {
      await done; // resolves on `complete`, rejects on `error` and on `abort`
    } catch (e: unknown) {
      throw storageError(e, tx.error);
    }
    return result;
  };

  const run = async <T, M extends IDBTransactionMode>(
    stores: string[],
    mode: M,
    body: (tx: Tx<M>) => Promise<T>,
  ): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      const pending = getConnection();
      const db = await pending;
      try {
        return await runOnce(db, stores, mode, body);
      } catch (e: unknown) {
        if (closed) throw closedError();
        const err = storageError(e);
        // Only a failure that looks like a lost connection is retried (never quota, not-found…).
        if (attempt > 0 || err.code !== 'storage-failed' || !connectionLost(err.cause)) throw err;
        // Drop the connection we used and retry once on a fresh one.
        if (connection === pending) connection = undefined;
        try {
          db.close();
        } catch {
          // already closed
        }
      }
    }
  };

  const quarantine = async (bad: { key: IDBValidKey; reason: string }[]): Promise<void> => {
    if (bad.length === 0) return;
    let moved: { key: IDBValidKey; reason: string }[] = [];
    try {
      moved = await run([ENTRIES, QUARANTINE], 'readwrite', async (tx) => {
        const entries = tx.objectStore(ENTRIES);
        const out: { key: IDBValidKey; reason: string }[] = [];
        for (const b of bad) {
          const value = await entries.get(b.key);
          if (value === undefined || invalidEntry(value) === undefined) continue; // gone or fixed
          await tx
            .objectStore(QUARANTINE)
            .add({ key: b.key, reason: b.reason, value, at: Date.now() });
          await entries.delete(b.key);
          out.push(b);
        }
        return out;
      });
    } catch {
      // Could not move it aside: readers skip it anyway, so it still blocks nothing.
    }
    for (const m of moved) {
      try {
        options.onCorrupt?.(m);
      } catch {
        // a throwing callback must not break the store
      }
    }
  };

  /** Highest `seq` this instance handed out; `undefined` until first read from the database. */
  let lastSeq: number | undefined;
  /**
   * The allocations still waiting for the first read of the highest stored `seq`, chained in call
   * order; `undefined` once none is waiting.
   */
  let allocating: Promise<number> | undefined;
  /** The highest `seq` stored, read once (its own read-only transaction). */
  const readTopSeq = async (): Promise<number> => {
    const top = await run([ENTRIES], 'readonly', async (tx) => {
      const cursor = await tx.objectStore(ENTRIES).index('seq').openCursor(null, 'prev');
      return cursor?.value.seq as unknown;
    });
    return typeof top === 'number' ? top : 0;
  };
  /**
   * Reserves `n` order keys and returns the one before the first, **in call order**: the key is
   * taken when the caller calls (synchronously once the highest stored `seq` is known; before
   * that, chained behind the one read of it), never when its transaction happens to run, so a
   * burst of `append`s issued without awaiting gets keys in the order it was issued (issue 10,
   * defect 1: an append issued while the first one was still reading took the fast path and got
   * a key below an earlier call's). Only the first call reads the database. The keys are a
   * hybrid clock: strictly increasing in this tab, above every stored entry, and never behind
   * the wall clock (ms × 1000), so two tabs writing to one conversation keep the order the user
   * typed in although neither reads the other's counter. (A clock set back only matters once
   * every entry is gone, and then there is nothing left to order against.) `open()` does the read,
   * so an `append` after it is just its transaction.
   */
  const allocate = (n: number): Promise<number> => {
    if (lastSeq !== undefined && allocating === undefined) return Promise.resolve(reserve(n));
    const before: Promise<unknown> =
      allocating ??
      readTopSeq().then((top) => {
        lastSeq = Math.max(lastSeq ?? 0, top);
      });
    const mine: Promise<number> = before.then(() => reserve(n));
    allocating = mine;
    // A failed read is not remembered: the next call reads again.
    const clear = () => {
      if (allocating === mine) allocating = undefined;
    };
    mine.then(clear, clear);
    return mine;
  };
  /** `allocate` once the highest stored `seq` is known: no database access. */
  const reserve = (n: number): number => {
    // The clock in microseconds (the unit of the keys): with whole milliseconds, a store emptied
    // and reopened within one millisecond handed out the removed entries' keys again.
    const before = Math.max(
      lastSeq ?? 0,
      Math.floor((performance.timeOrigin + performance.now()) * 1000),
    );
    lastSeq = before + n;
    return before;
  };

  /** Upserts transcript records inside the caller's transaction (`transcript` and `meta` in scope). */
  const writeTranscript = async (
    tx: Tx<'readwrite'>,
    records: readonly TranscriptRecord[],
  ): Promise<void> => {
    const store = tx.objectStore(TRANSCRIPT);
    const meta = tx.objectStore(META);
    const nv = (await meta.get(TRANSCRIPT_N_KEY)) as unknown;
    let n = typeof nv === 'number' ? nv : 0;
    const existing = (await Promise.all(records.map((r) => store.get(r.key)))) as (
      { n?: unknown; order?: unknown } | undefined
    )[];
    const seen = new Map<string, { n: number; order: number }>();
    const writes: Promise<unknown>[] = [];
    records.forEach((r, i) => {
      const old = existing[i];
      // A replaced record keeps its order and insertion number: a line never moves (rule 13).
      // (Every stored record has an order: written here, or backfilled by the v3 upgrade.)
      const kept = seen.get(r.key) ?? {
        n: typeof old?.n === 'number' ? old.n : ++n,
        order: (old?.order as number | undefined) ?? r.order ?? r.time * 1000,
      };
      seen.set(r.key, kept);
      writes.push(store.put({ ...r, ...kept }));
    });
    writes.push(meta.put(n, TRANSCRIPT_N_KEY));
    await Promise.all(writes);
  };

  const transcriptRange = (conversationId: string): IDBKeyRange =>
    IDBKeyRange.bound([conversationId], [conversationId, []]);

  const guard =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (closed) throw closedError();
      return fn(...args);
    };

  /**
   * The head of each conversation in `range` of the sparse index [queueConversationId, seq]:
   * take the first record of a conversation, then seek past the rest of it ([id, []] sorts after
   * every [id, seq]). Each step opens a fresh cursor at that bound: Chromium's
   * cursor.continue(key) walks every record in between (100 000 queued entries made recovery 10x
   * slower), a new cursor seeks.
   */
  const scanHeads = async (range: IDBKeyRange | null, one = false): Promise<StoredEntry[]> => {
    const { heads, bad } = await run([ENTRIES], 'readonly', async (tx) => {
      const found: StoredEntry[] = [];
      const skipped: { key: IDBValidKey; reason: string }[] = [];
      const index = tx.objectStore(ENTRIES).index('heads');
      let from = range;
      for (;;) {
        const cursor = await index.openCursor(from);
        if (!cursor) break;
        const v = cursor.value as EntryRecord;
        const key = cursor.key as IDBValidKey[];
        const reason = invalidEntry(v);
        if (reason !== undefined) skipped.push({ key: cursor.primaryKey, reason });
        const upper = range?.upper as IDBValidKey | undefined;
        const bound = (k: IDBValidKey): IDBKeyRange =>
          upper === undefined ? IDBKeyRange.lowerBound(k, true) : IDBKeyRange.bound(k, upper, true);
        if (reason !== undefined || !isQueued(v.status)) {
          from = bound(key); // the next one of the same conversation
          continue;
        }
        found.push(fromRecord(v));
        if (one) break;
        from = bound([key[0] as IDBValidKey, []]);
      }
      return { heads: found, bad: skipped };
    });
    await quarantine(bad);
    return heads;
  };

  const store: OutboxStore = {
    open: guard(async () => {
      await getConnection();
      // The one read of the highest stored seq, here rather than in the first append.
      if (lastSeq === undefined) await allocate(0);
    }),

    append: guard(async (batch: readonly NewEntry[]) => {
      if (batch.length === 0) return [];
      try {
        // The keys are taken now, at the call (see allocate), not when the transaction runs.
        // Awaited before the transaction starts: a transaction must not wait on anything else.
        const first = await allocate(batch.length);
        return await run([ENTRIES], 'readwrite', async (tx) => {
          let seq = first;
          const stored = batch.map((e): StoredEntry => ({ ...copyEntry(e), seq: ++seq }));
          // Every request at once on the plain object store (one transaction, one commit), with
          // no promise per request. The first failing add (ConstraintError, quota) is what is
          // reported: its error event reaches the transaction before the abort does.
          const raw = unwrap(tx);
          const entries = raw.objectStore(ENTRIES);
          for (const e of stored) entries.add(toRecord(e));
          await new Promise<void>((resolve, reject) => {
            raw.addEventListener('complete', () => resolve());
            raw.addEventListener('error', (ev) => reject((ev.target as IDBRequest).error));
            raw.addEventListener('abort', () =>
              reject(raw.error ?? new DOMException('transaction aborted', 'AbortError')),
            );
          });
          return stored;
        });
      } catch (e: unknown) {
        if (isOutboxError(e) && nameOf(e.cause) === 'ConstraintError') {
          throw new OutboxError('invalid-id', 'duplicate id', {
            cause: e.cause,
          });
        }
        throw e;
      }
    }),

    update: guard(async (entry: StoredEntry, opts?: { requeue?: boolean }) => {
      // A requeue's key is taken at the call, like an append's (call order, always).
      const fresh = opts?.requeue === true ? (await allocate(1)) + 1 : undefined;
      return run([ENTRIES], 'readwrite', async (tx) => {
        const entries = tx.objectStore(ENTRIES);
        const old = (await entries.get(entry.id)) as EntryRecord | undefined;
        if (old === undefined) {
          throw new OutboxError('not-found', 'no entry', {
            details: { id: entry.id },
          });
        }
        let seq = old.seq;
        // seq belongs to the store: a fresh one only to go to the back (or if the old is unusable).
        if (fresh !== undefined) seq = fresh;
        // An unusable stored seq: a key from the hybrid clock (no read inside this transaction).
        else if (typeof seq !== 'number') seq = reserve(1) + 1;
        const stored: StoredEntry = { ...copyEntry(entry), seq };
        await entries.put(toRecord(stored));
        return stored;
      });
    }),

    remove: guard(async (id: string) => {
      await run([ENTRIES], 'readwrite', (tx) => tx.objectStore(ENTRIES).delete(id));
    }),

    get: guard(async (id: string) => {
      const v = (await run([ENTRIES], 'readonly', (tx) => tx.objectStore(ENTRIES).get(id))) as
        EntryRecord | undefined;
      if (v === undefined) return undefined;
      const reason = invalidEntry(v);
      if (reason === undefined) return fromRecord(v);
      await quarantine([{ key: id, reason }]);
      return undefined;
    }),

    list: guard(async () => {
      // list() returns everything by definition, so one getAll is the cheapest read here.
      const all = (await run([ENTRIES], 'readonly', (tx) =>
        tx.objectStore(ENTRIES).getAll(),
      )) as EntryRecord[];
      const good: StoredEntry[] = [];
      const bad: { key: IDBValidKey; reason: string }[] = [];
      for (const v of all) {
        const reason = invalidEntry(v);
        if (reason === undefined) good.push(fromRecord(v));
        else bad.push({ key: (v as any)?.id, reason });
      }
      await quarantine(bad.filter((b) => b.key !== undefined));
      return good.sort((a, b) => a.seq - b.seq);
    }),

    heads: guard(async (limit?: number) => {
      const heads = await scanHeads(null);
      heads.sort((a, b) => a.seq - b.seq);
      return limit === undefined ? heads : heads.slice(0, Math.max(0, limit));
    }),

    headOf: guard(
      async (conversationId: string) =>
        (await scanHeads(IDBKeyRange.bound([conversationId], [conversationId, []]), true))[0],
    ),

    count: guard(() => run([ENTRIES], 'readonly', (tx) => tx.objectStore(ENTRIES).count())),

    getMeta: guard((key: string) =>
      run([META], 'readonly', (tx) => tx.objectStore(META).get(key) as Promise<unknown>),
    ),

    setMeta: guard(async (key: string, value: unknown) => {
      await run([META], 'readwrite', (tx) => tx.objectStore(META).put(value, key));
    }),

    putTranscript: guard(async (records: readonly TranscriptRecord[]) => {
      if (records.length === 0) return;
      await run([TRANSCRIPT, META], 'readwrite', (tx) => writeTranscript(tx, records));
    }),

    removeDelivered: guard(async (id: string, records: readonly TranscriptRecord[]) => {
      await run([ENTRIES, TRANSCRIPT, META], 'readwrite', async (tx) => {
        await Promise.all([writeTranscript(tx, records), tx.objectStore(ENTRIES).delete(id)]);
      });
    }),

    listTranscript: guard((conversationId: string, limit?: number) =>
      run([TRANSCRIPT], 'readonly', async (tx) => {
        const index = tx.objectStore(TRANSCRIPT).index('byOrder');
        const range = transcriptRange(conversationId);
        if (limit === undefined) {
          return ((await index.getAll(range)) as TranscriptRecord[]).map(fromTranscript);
        }
        const out: TranscriptRecord[] = [];
        let cursor = limit > 0 ? await index.openCursor(range, 'prev') : null;
        while (cursor) {
          out.push(fromTranscript(cursor.value as TranscriptRecord));
          cursor = out.length < limit ? await cursor.continue() : null;
        }
        return out.reverse();
      }),
    ),

    getTranscript: guard(async (key: string) => {
      const v = (await run([TRANSCRIPT], 'readonly', (tx) =>
        tx.objectStore(TRANSCRIPT).get(key),
      )) as TranscriptRecord | undefined;
      return v === undefined ? undefined : fromTranscript(v);
    }),

    pruneTranscript: guard(async (conversationId: string, keep: number) => {
      await run([TRANSCRIPT], 'readwrite', async (tx) => {
        const index = tx.objectStore(TRANSCRIPT).index('byOrder');
        let cursor = await index.openCursor(transcriptRange(conversationId), 'prev');
        if (cursor && keep > 0) cursor = await cursor.advance(keep);
        const deletes: Promise<unknown>[] = [];
        while (cursor) {
          deletes.push(cursor.delete());
          cursor = await cursor.continue();
        }
        await Promise.all(deletes);
      });
    }),

    wipe: async () => {
      await store.close();
      // Loaded only when called: most pages never wipe.
      const { deleteDatabase } = await import('./deleteDatabase.js');
      await deleteDatabase(
        OutboxError,
        options.indexedDB ?? globalThis.indexedDB,
        name,
        blockedTimeoutMs,
      );
    },

    close: async () => {
      if (closed) return;
      closed = true;
      const p = connection;
      connection = undefined;
      // A connection still opening is closed by its success handler (closed is set).
      void p?.then(
        (db) => db.close(),
        () => {},
      );
    },
  };
  return store;
}
