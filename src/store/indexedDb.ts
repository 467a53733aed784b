import { readOptions } from '../internal/options.js';
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
   * The IndexedDB factory. Key ranges are made with the global `IDBKeyRange`, so it must belong to
   * the same implementation (with fake-indexeddb in Node: `import 'fake-indexeddb/auto'`, then pass
   * `new IDBFactory()`).
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
export const SCHEMA_VERSION = 5;
/** Internal meta keys are arrays, so they never collide with the string keys of `setMeta`. */
const TRANSCRIPT_N_KEY = ['tn'];
/**
 * The high-water mark: at least the `seq` of every removed entry, so that it and the last key of
 * each group in `heads` bound every key ever stored (v4 kept the highest `top` of a removed entry
 * under this key, and wrote the highest `seq` of the v3 index here on upgrade).
 */
const HIGH_KEY = ['top'];
/**
 * The `heads` group of entries that are not queued (failed): `[]` sorts after every string, so
 * they are past every conversation, where `heads()` does not look, and still in the index.
 */
const NOT_QUEUED: never[] = [];
const ENTRIES = 'entries';
const META = 'meta';
const TRANSCRIPT = 'transcript';
const QUARANTINE = 'quarantine';
const HEADS = 'heads';
const BY_ORDER = 'byOrder';

/* eslint-disable @typescript-eslint/no-explicit-any -- IDB values are untyped at this boundary */
/**
 * An entry as stored: `queueConversationId` (the `heads` index) is its conversation while it is
 * queued, else `NOT_QUEUED` (v5; absent in records written before); `top` is what v4 wrote on
 * the highest entry of each write (no index since v5, dropped when read).
 */
type EntryRecord = StoredEntry & { queueConversationId?: string | never[]; top?: number };
type Bad = { key: IDBValidKey; reason: string };

const isQueued = (status: unknown): boolean => status === 'pending' || status === 'sending';

/** A request as a promise. Its error also aborts the transaction (nobody prevents the default). */
const req = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

/** Calls `step` at every position of a cursor; `step` moves the cursor, or returns false to stop. */
const walk = (
  r: IDBRequest<IDBCursorWithValue | null>,
  step: (cursor: IDBCursorWithValue) => boolean,
): Promise<void> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => {
      if (!r.result || !step(r.result)) resolve();
    };
    r.onerror = () => reject(r.error);
  });

/** Runs `then` on a value, or once a promise of one resolved (no extra tick when it is plain). */
const after = <T, R>(v: T | Promise<T>, then: (v: T) => Promise<R>): Promise<R> =>
  v instanceof Promise ? v.then(then) : then(v);

const finite = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * Creates or upgrades the schema, step by step from `oldVersion`; no step ever deletes data.
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

function upgradeSchema(db: IDBDatabase, oldVersion: number, tx: IDBTransaction): void {
  const fresh = oldVersion < 1;
  const entries = fresh
    ? db.createObjectStore(ENTRIES, { keyPath: 'id' })
    : tx.objectStore(ENTRIES);
  if (fresh) db.createObjectStore(META);
  if (oldVersion < 2) {
    entries.createIndex(HEADS, ['queueConversationId', 'seq']);
    db.createObjectStore(TRANSCRIPT, { keyPath: 'key' });
    db.createObjectStore(QUARANTINE, { autoIncrement: true });
  }
  if (!fresh && oldVersion < 5) {
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
    transcript.createIndex(BY_ORDER, ['conversationId', 'order', 'time', 'n']);
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
 * The stored record: the entry plus the `heads` index field, its conversation only while it is
 * queued (a failed entry must not hold its conversation).
 */
function toRecord(entry: StoredEntry): EntryRecord {
  const { queueConversationId: _q, top: _t, ...r } = entry as EntryRecord;
  const record: EntryRecord = r;
  record.queueConversationId = isQueued(r.status) ? r.conversationId : NOT_QUEUED;
  return record;
}

function fromRecord(r: EntryRecord): StoredEntry {
  const { queueConversationId: _q, top: _t, ...entry } = r;
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
 * Runs `body` in one transaction and resolves with its result once the transaction committed.
 * `body` issues its requests (synchronously, or awaiting only requests of this transaction); if
 * it throws, the transaction is aborted. A failed request is reported as itself (ConstraintError,
 * QuotaExceededError), not as the abort it caused.
 */
function transact<T>(
  db: IDBDatabase,
  stores: string[],
  mode: IDBTransactionMode,
  options: IDBTransactionOptions | undefined,
  body: (tx: IDBTransaction) => T | Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const tx = db.transaction(stores, mode, options);
    let outcome: { v: T } | { e: unknown } | undefined;
    let committed = false;
    let requestError: unknown;
    const settle = () => {
      if (!committed || outcome === undefined) return;
      if ('v' in outcome) resolve(outcome.v);
      else reject(storageError(outcome.e, tx.error));
    };
    tx.oncomplete = () => {
      committed = true;
      settle();
    };
    tx.onerror = (ev) => {
      requestError ??= (ev.target as IDBRequest | null)?.error;
    };
    tx.onabort = () => {
      const e = outcome !== undefined && 'e' in outcome ? outcome.e : undefined;
      reject(
        storageError(
          e ?? requestError ?? tx.error ?? new DOMException('transaction aborted', 'AbortError'),
          tx.error,
        ),
      );
    };
    const fail = (e: unknown) => {
      outcome = { e };
      try {
        tx.abort();
      } catch {
        settle(); // already committed: report the body's error all the same
      }
    };
    try {
      const v = body(tx);
      if (v instanceof Promise) {
        v.then((x) => {
          outcome = { v: x };
          settle();
        }, fail);
      } else outcome = { v };
    } catch (e: unknown) {
      fail(e);
    }
  });
}

/**
 * The browser store: IndexedDB, raw (no wrapper library). Group commit (one transaction per
 * `append`, one request per entry), a monotonic `seq` (see `allocate`) written in the same
 * transaction as the entries, `heads()` by one index cursor that jumps from conversation to
 * conversation, corrupt records moved to `quarantine`, reopen after an unexpected close, close
 * on `versionchange` so other tabs can upgrade.
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
  let connection: Promise<IDBDatabase> | undefined;
  /** A connection once it is open, so that a transaction on it starts without waiting a tick. */
  let opened: [Promise<IDBDatabase>, IDBDatabase] | undefined;

  const closedError = (): OutboxError => new OutboxError('closed', 'store closed');

  const openDb = (onLost: () => void): Promise<IDBDatabase> =>
    new Promise<IDBDatabase>((resolve, reject) => {
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
        const db = request.result;
        if (gaveUp || closed) {
          db.close();
          if (closed) reject(closedError());
          return;
        }
        // Unexpected close (storage cleared, WebKit connection lost): reopen on the next call.
        db.onclose = onLost;
        // Another tab wants to upgrade: step aside, reopen lazily on the next call.
        db.onversionchange = () => {
          db.close();
          onLost();
        };
        resolve(db);
      };
    });

  const getConnection = (): Promise<IDBDatabase> => {
    if (closed) return Promise.reject(closedError());
    if (!connection) {
      const p: Promise<IDBDatabase> = openDb(() => {
        if (connection === p) connection = undefined;
      });
      connection = p;
      p.then(
        (db) => (opened = [p, db]),
        () => {
          if (connection === p) connection = undefined;
        },
      );
    }
    return connection;
  };

  const run = <T>(
    stores: string[],
    mode: IDBTransactionMode,
    body: (tx: IDBTransaction) => T | Promise<T>,
    retried = false,
  ): Promise<T> => {
    const pending = getConnection();
    const go = (db: IDBDatabase): Promise<T> =>
      transact(db, stores, mode, mode === 'readwrite' ? txOptions : undefined, body).catch(
        (e: unknown) => {
          if (closed) throw closedError();
          const err = storageError(e);
          // Only a failure that looks like a lost connection is retried (never quota, not-found…).
          if (retried || err.code !== 'storage-failed' || !connectionLost(err.cause)) throw err;
          // Drop the connection we used and retry once on a fresh one.
          if (connection === pending) connection = undefined;
          try {
            db.close();
          } catch {
            // already closed
          }
          return run(stores, mode, body, true);
        },
      );
    // The hot path (the connection is open): the transaction starts now, not a tick later.
    return opened?.[0] === pending ? go(opened[1]) : pending.then(go);
  };

  const readMark = (tx: IDBTransaction): Promise<unknown> =>
    req(tx.objectStore(META).get(HIGH_KEY));

  /**
   * Deletes an entry inside the caller's transaction (`entries` and `meta` in scope); the mark
   * keeps its key, so a reopen never hands it out again.
   */
  const dropEntry = async (tx: IDBTransaction, key: IDBValidKey): Promise<void> => {
    const entries = tx.objectStore(ENTRIES);
    const [old, mark] = await Promise.all([
      req(entries.get(key)) as Promise<EntryRecord | undefined>,
      readMark(tx),
      req(entries.delete(key)),
    ]);
    const seq = finite(old?.seq);
    if (seq > finite(mark)) tx.objectStore(META).put(seq, HIGH_KEY);
  };

  const quarantine = async (bad: Bad[]): Promise<void> => {
    if (bad.length === 0) return;
    let moved: Bad[] = [];
    try {
      moved = await run([ENTRIES, QUARANTINE, META], 'readwrite', async (tx) => {
        const entries = tx.objectStore(ENTRIES);
        const out: Bad[] = [];
        for (const b of bad) {
          const value: unknown = await req(entries.get(b.key));
          if (value === undefined || invalidEntry(value) === undefined) continue; // gone or fixed
          tx.objectStore(QUARANTINE).add({ key: b.key, reason: b.reason, value, at: Date.now() });
          await dropEntry(tx, b.key);
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
  /**
   * The highest `seq` ever stored: the high-water mark, or the last key of a group (conversation,
   * or `NOT_QUEUED`) in the `heads` index, whichever is higher. One seek per group from the end of
   * the index (each past the group found before), whatever the number of entries.
   */
  const readTopSeq = (): Promise<number> =>
    run([ENTRIES, META], 'readonly', async (tx) => {
      const index = tx.objectStore(ENTRIES).index(HEADS);
      let high = finite(await readMark(tx));
      for (let below: IDBKeyRange | null = null; ;) {
        const cursor = await req(index.openKeyCursor(below, 'prev'));
        if (!cursor) return high;
        const [conversation, seq] = cursor.key as [IDBValidKey, unknown];
        high = Math.max(high, finite(seq));
        below = IDBKeyRange.upperBound([conversation], true); // [c] sorts before every [c, seq]
      }
    });
  /**
   * Reserves `n` order keys and returns the one before the first, **in call order**: the key is
   * taken when the caller calls (synchronously once the highest stored `seq` is known; before
   * that, chained behind the one read of it), never when its transaction happens to run, so a
   * burst of `append`s issued without awaiting gets keys in the order it was issued (issue 10,
   * defect 1: an append issued while the first one was still reading took the fast path and got
   * a key below an earlier call's). Only the first call reads the database. The keys are a
   * hybrid clock: strictly increasing in this tab, above every key ever stored (removed ones
   * included, see `readTopSeq`), and never behind the wall clock (µs), so two tabs writing to one
   * conversation keep the order the user typed in although neither reads the other's counter.
   * `open()` does the read, so an `append` after it is just its transaction.
   */
  const allocate = (n: number): number | Promise<number> => {
    if (lastSeq !== undefined && allocating === undefined) return reserve(n);
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
    // The clock in microseconds (the unit of the keys).
    const before = Math.max(
      lastSeq ?? 0,
      Math.floor((performance.timeOrigin + performance.now()) * 1000),
    );
    lastSeq = before + n;
    return before;
  };

  /** Upserts transcript records inside the caller's transaction (`transcript` and `meta` in scope). */
  const writeTranscript = async (
    tx: IDBTransaction,
    records: readonly TranscriptRecord[],
  ): Promise<void> => {
    const store = tx.objectStore(TRANSCRIPT);
    const meta = tx.objectStore(META);
    const [nv, ...existing] = (await Promise.all([
      req(meta.get(TRANSCRIPT_N_KEY)),
      ...records.map((r) => req(store.get(r.key))),
    ])) as [unknown, ...({ n?: unknown; order?: unknown } | undefined)[]];
    let n = finite(nv);
    const seen = new Map<string, { n: number; order: number }>();
    records.forEach((r, i) => {
      const old = existing[i];
      // A replaced record keeps its order and insertion number: a line never moves (rule 13).
      // (Every stored record has an order: written here, or backfilled by the v3 upgrade.)
      const kept = seen.get(r.key) ?? {
        n: typeof old?.n === 'number' ? old.n : ++n,
        order: (old?.order as number | undefined) ?? r.order ?? r.time * 1000,
      };
      seen.set(r.key, kept);
      store.put({ ...r, ...kept });
    });
    meta.put(n, TRANSCRIPT_N_KEY);
  };

  /** Every key `[conversationId, …]` of an index (`heads`, `byOrder`). */
  const conversationRange = (conversationId: string): IDBKeyRange =>
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
  const scanHeads = async (range: IDBKeyRange, one = false): Promise<StoredEntry[]> => {
    const { heads, bad } = await run([ENTRIES], 'readonly', async (tx) => {
      const found: StoredEntry[] = [];
      const skipped: Bad[] = [];
      const index = tx.objectStore(ENTRIES).index(HEADS);
      const past = (k: IDBValidKey): IDBKeyRange => IDBKeyRange.bound(k, range.upper, true);
      let from = range;
      for (;;) {
        const cursor = await req(index.openCursor(from));
        if (!cursor) break;
        const v = cursor.value as EntryRecord;
        const key = cursor.key as IDBValidKey[];
        const reason = invalidEntry(v);
        if (reason !== undefined) skipped.push({ key: cursor.primaryKey, reason });
        if (reason !== undefined || !isQueued(v.status)) {
          from = past(key); // the next one of the same conversation
          continue;
        }
        found.push(fromRecord(v));
        if (one) break;
        from = past([key[0] as IDBValidKey, []]);
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

    append(batch: readonly NewEntry[]) {
      if (closed) return Promise.reject(closedError());
      if (batch.length === 0) return Promise.resolve([]);
      // The keys are taken now, at the call (see allocate), not when the transaction runs.
      // Awaited before the transaction starts: a transaction must not wait on anything else.
      return after(allocate(batch.length), (first) =>
        run([ENTRIES], 'readwrite', (tx) => {
          // One request per entry, no promise per request. The first failing add
          // (ConstraintError, quota) is what is reported.
          const entries = tx.objectStore(ENTRIES);
          return batch.map((e, i): StoredEntry => {
            const stored = copyEntry(e) as StoredEntry;
            stored.seq = first + i + 1;
            entries.add(toRecord(stored));
            return stored;
          });
        }),
      ).catch((e: unknown) => {
        if (isOutboxError(e) && nameOf(e.cause) === 'ConstraintError') {
          throw new OutboxError('invalid-id', 'duplicate id', { cause: e.cause });
        }
        throw e;
      });
    },

    update: guard(async (entry: StoredEntry, opts?: { requeue?: boolean }) => {
      // A requeue's key is taken at the call, like an append's (call order, always).
      const fresh = opts?.requeue === true ? (await allocate(1)) + 1 : undefined;
      return run([ENTRIES], 'readwrite', async (tx) => {
        const entries = tx.objectStore(ENTRIES);
        const old = (await req(entries.get(entry.id))) as EntryRecord | undefined;
        if (old === undefined) {
          throw new OutboxError('not-found', 'no entry', { details: { id: entry.id } });
        }
        // seq belongs to the store: a fresh one only to go to the back (or if the old is
        // unusable: a key from the hybrid clock, no read inside this transaction).
        let seq = old.seq;
        if (fresh !== undefined) seq = fresh;
        else if (typeof seq !== 'number') seq = reserve(1) + 1;
        const stored: StoredEntry = { ...copyEntry(entry), seq };
        entries.put(toRecord(stored));
        return stored;
      });
    }),

    remove: guard(async (id: string) => {
      await run([ENTRIES, META], 'readwrite', (tx) => dropEntry(tx, id));
    }),

    get: guard(async (id: string) => {
      const v = (await run([ENTRIES], 'readonly', (tx) => req(tx.objectStore(ENTRIES).get(id)))) as
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
        req(tx.objectStore(ENTRIES).getAll()),
      )) as EntryRecord[];
      const good: StoredEntry[] = [];
      const bad: Bad[] = [];
      for (const v of all) {
        const reason = invalidEntry(v);
        if (reason === undefined) good.push(fromRecord(v));
        else bad.push({ key: (v as any)?.id, reason });
      }
      await quarantine(bad.filter((b) => b.key !== undefined));
      return good.sort((a, b) => a.seq - b.seq);
    }),

    heads: guard(async (limit?: number) => {
      // Every conversation: the keys up to [NOT_QUEUED], which sorts before [NOT_QUEUED, seq].
      const heads = await scanHeads(IDBKeyRange.upperBound([NOT_QUEUED]));
      heads.sort((a, b) => a.seq - b.seq);
      return limit === undefined ? heads : heads.slice(0, Math.max(0, limit));
    }),

    headOf: guard(
      async (conversationId: string) =>
        (await scanHeads(conversationRange(conversationId), true))[0],
    ),

    count: guard(() => run([ENTRIES], 'readonly', (tx) => req(tx.objectStore(ENTRIES).count()))),

    getMeta: guard((key: string) =>
      run([META], 'readonly', (tx) => req(tx.objectStore(META).get(key) as IDBRequest<unknown>)),
    ),

    setMeta: guard(async (key: string, value: unknown) => {
      await run([META], 'readwrite', (tx) => {
        tx.objectStore(META).put(value, key);
      });
    }),

    putTranscript: guard(async (records: readonly TranscriptRecord[]) => {
      if (records.length === 0) return;
      await run([TRANSCRIPT, META], 'readwrite', (tx) => writeTranscript(tx, records));
    }),

    removeDelivered: guard(async (id: string, records: readonly TranscriptRecord[]) => {
      await run([ENTRIES, TRANSCRIPT, META], 'readwrite', (tx) =>
        Promise.all([writeTranscript(tx, records), dropEntry(tx, id)]),
      );
    }),

    listTranscript: guard((conversationId: string, limit?: number) =>
      run([TRANSCRIPT], 'readonly', async (tx) => {
        const index = tx.objectStore(TRANSCRIPT).index(BY_ORDER);
        const range = conversationRange(conversationId);
        if (limit === undefined) {
          return ((await req(index.getAll(range))) as TranscriptRecord[]).map(fromTranscript);
        }
        const out: TranscriptRecord[] = [];
        if (limit > 0) {
          await walk(index.openCursor(range, 'prev'), (cursor) => {
            out.push(fromTranscript(cursor.value as TranscriptRecord));
            if (out.length >= limit) return false;
            cursor.continue();
            return true;
          });
        }
        return out.reverse();
      }),
    ),

    // A chunk of its own: only an encrypted outbox's sweep calls it (run refuses once closed).
    sweep: async () => (await import('./indexedDbSweep.js')).sweepOf(run),

    getTranscript: guard(async (key: string) => {
      const v = (await run([TRANSCRIPT], 'readonly', (tx) =>
        req(tx.objectStore(TRANSCRIPT).get(key)),
      )) as TranscriptRecord | undefined;
      return v === undefined ? undefined : fromTranscript(v);
    }),

    pruneTranscript: guard(async (conversationId: string, keep: number) => {
      await run([TRANSCRIPT], 'readwrite', (tx) => {
        let skip = keep > 0;
        const index = tx.objectStore(TRANSCRIPT).index(BY_ORDER);
        return walk(index.openCursor(conversationRange(conversationId), 'prev'), (cursor) => {
          if (skip) {
            skip = false;
            cursor.advance(keep); // past the newest `keep` in one step
          } else {
            cursor.delete();
            cursor.continue();
          }
          return true;
        });
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
