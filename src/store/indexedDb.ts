import { readOptions } from '../internal/options.js';
import { OutboxError, isOutboxError } from '../errors/OutboxError.js';
import { copyEntry } from '../outbox/entry.js';
import type { NewEntry, StoredEntry } from '../outbox/entry.js';
import type { OutboxStore } from './OutboxStore.js';
import { chunk } from '../internal/chunk.js';
import type { IdbOps } from './indexedDbOps.js';

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

/** Current schema version; see `upgradeSchema` in indexedDbUpgrade.ts. */
export const SCHEMA_VERSION = 7;
/**
 * The high-water mark: at least the `seq` of every removed entry and of every packed entry (v7, not
 * in `heads`: raised by the append that wrote the pack), so that it and the last key of
 * each group in `heads` bound every key ever stored (v4 kept the highest `top` of a removed entry
 * under this key, and wrote the highest `seq` of the v3 index here on upgrade).
 */
export const HIGH_KEY = ['top'];
/**
 * The `heads` group of entries that are not queued (failed): `[]` sorts after every string, so
 * they are past every conversation, where `heads()` does not look, and still in the index.
 */
export const NOT_QUEUED: never[] = [];
export const ENTRIES = 'entries';
export const META = 'meta';
export const TRANSCRIPT = 'transcript';
export const QUARANTINE = 'quarantine';
export const HEADS = 'heads';
/** v7: unique, multiEntry index on `ids`, the ids of the entries a record holds. */
export const IDS = 'ids';
export const BY_ORDER = 'byOrder';

/**
 * A record of `entries`: an entry, `queueConversationId` (the `heads` index) its conversation
 * while it is queued, else `NOT_QUEUED` (v5). v7: `ids` (the unique `ids` index) lists the ids of
 * every entry the record holds: its own, then those of `pack`, the queued entries of the same
 * conversation that one append wrote after it (in key order, none in `heads`; see `writeRuns` in
 * indexedDbOps.ts). `top` (v4) and `rest` (v6) are gone after the upgrade.
 */
export type EntryRecord = StoredEntry & {
  queueConversationId?: string | never[];
  ids?: string[];
  pack?: StoredEntry[];
  top?: number;
  rest?: string[];
};

export const isQueued = (status: unknown): boolean => status === 'pending' || status === 'sending';

/** A request as a promise. Its error also aborts the transaction (nobody prevents the default). */
export const req = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

/** Runs `then` on a value, or once a promise of one resolved (no extra tick when it is plain). */
const after = <T, R>(v: T | Promise<T>, then: (v: T) => Promise<R>): Promise<R> =>
  v instanceof Promise ? v.then(then) : then(v);

export const finite = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * The stored record: the entry plus the `heads` index field, its conversation only while it is
 * queued (a failed entry must not hold its conversation).
 */
export const toRecord = (entry: StoredEntry): EntryRecord => ({
  ...entry,
  queueConversationId: isQueued(entry.status) ? entry.conversationId : NOT_QUEUED,
  ids: [entry.id],
});

/**
 * What the store's chunks (operations, upgrade steps) use of the first load, handed to them
 * rather than imported: a module that the first load and a chunk both import becomes a file of
 * its own in the user's build, gzipped apart (issue 15). The names of the object stores and
 * indexes are not handed over: each chunk writes them out (typed as these constants, so a name
 * that differs does not compile).
 */
const lib = {
  isQueued,
  toRecord,
  copyEntry,
  OutboxError,
};
/** @internal See `lib`. */
export type IdbLib = typeof lib;

const nameOf = (e: unknown): unknown =>
  typeof e === 'object' && e !== null ? (e as { name?: unknown }).name : undefined;

/**
 * A full disk or quota: the name every browser gives it (WebIDL's QuotaExceededError, whose
 * legacy code is 22), or old Firefox's. Raw IndexedDB errors carry no `cause`: nothing to unwrap.
 */
const isQuota = (e: unknown): boolean =>
  ['QuotaExceededError', 'NS_ERROR_DOM_QUOTA_REACHED'].includes(nameOf(e) as string);

function storageError(e: unknown, txError?: unknown): OutboxError {
  if (isOutboxError(e)) return e;
  if (isQuota(e) || isQuota(txError)) {
    return new OutboxError('storage-full', 'IndexedDB: quota exceeded', { cause: e });
  }
  const name = nameOf(e);
  // Only an append's `add` can break a constraint (no index is unique): an id already stored.
  if (name === 'ConstraintError')
    return new OutboxError('invalid-id', 'duplicate id', { cause: e });
  return new OutboxError(
    'storage-failed',
    `IndexedDB failed${typeof name === 'string' ? `: ${name}` : ''}`,
    { cause: e },
  );
}

/**
 * Runs `body` in one transaction and resolves with its result once the transaction committed.
 * `body` issues its requests (synchronously, or awaiting only requests of this transaction); if
 * it throws, the transaction is aborted. A failed request is reported as itself (ConstraintError,
 * QuotaExceededError), not as the abort it caused. A body that returns a plain value (not a
 * promise) must have issued every request it will make: the transaction is committed at once
 * (`commit()`), so a request issued later, from a request's callback, would throw; a body that
 * walks a cursor returns the walk's promise.
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
    let failure: unknown;
    let requestError: unknown;
    const committed = new Promise<void>((ok) => (tx.oncomplete = () => ok()));
    tx.onerror = (ev) => {
      requestError ??= (ev.target as IDBRequest | null)?.error;
    };
    tx.onabort = () =>
      reject(
        storageError(
          failure ??
            requestError ??
            tx.error ??
            new DOMException('transaction aborted', 'AbortError'),
          tx.error,
        ),
      );
    const fail = (e: unknown) => {
      failure = e;
      try {
        tx.abort();
      } catch {
        // committed, or committing: report the body's error all the same, once it is
        void committed.then(() => reject(storageError(e, tx.error)));
      }
    };
    let v: T | Promise<T>;
    try {
      v = body(tx);
    } catch (e: unknown) {
      return fail(e);
    }
    if (v instanceof Promise) {
      v.then((x) => committed.then(() => resolve(x)), fail);
    } else {
      void committed.then(() => resolve(v));
      try {
        // A body that returned at once issued every request it has: commit now, not once their
        // success events came back to this thread (one round trip less per write). A browser
        // without commit() commits when the requests are done, as before.
        tx.commit?.();
      } catch {
        // no longer active (aborted in the body): its own events tell the outcome
      }
    }
  });
}

/**
 * The browser store: IndexedDB, raw (no wrapper library). Group commit (one transaction per
 * `append`, one request per entry or per pack of one conversation's entries), a monotonic `seq` (see `allocate`) written in the same
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
  const factory = (): IDBFactory => options.indexedDB ?? globalThis.indexedDB;
  let closed = false;
  /** The connection in use (or being opened); cleared when it is lost or yielded. */
  let connection: Promise<IDBDatabase> | undefined;
  /** A connection once it is open, so that a transaction on it starts without waiting a tick. */
  let opened: [Promise<IDBDatabase>, IDBDatabase] | undefined;

  const closedError = (): OutboxError => new OutboxError('closed', 'store closed');

  /**
   * Opens the database at `SCHEMA_VERSION`. No database yet, or one of an older schema
   * (`upgradeneeded`; `blocked` before it while another tab holds an older version open): this
   * request changes nothing (its upgrade is aborted) and the upgrade chunk (indexedDbUpgrade.ts,
   * fetched as the store opens) opens it again, makes or upgrades the layout, and gives up on an
   * open blocked for `blockedTimeoutMs`. A chunk that cannot be fetched rejects with
   * storage-failed; the next call fetches it again.
   */
  const openDb = (onLost: () => void): Promise<IDBDatabase> =>
    new Promise<IDBDatabase>((resolve, reject) => {
      const request = factory().open(name, SCHEMA_VERSION);
      let handed = false;
      const hand = (blocked: boolean) => {
        if (!handed) {
          resolve(
            upgrade.call(async (m) =>
              m.openUpgraded(factory(), name, blocked, blockedTimeoutMs, lib),
            ),
          );
        }
        handed = true;
      };
      request.onblocked = () => hand(true);
      request.onupgradeneeded = () => {
        request.transaction?.abort();
        hand(false);
      };
      request.onerror = (event) => {
        event.preventDefault();
        reject(request.error); // (once handed over: no effect)
      };
      request.onsuccess = () => resolve(request.result);
    }).then(
      (db) => {
        if (closed) {
          db.close();
          throw closedError();
        }
        // Unexpected close (storage cleared, WebKit connection lost): reopen on the next call.
        db.onclose = onLost;
        // Another tab wants to upgrade: step aside, reopen lazily on the next call.
        db.onversionchange = () => {
          db.close();
          onLost();
        };
        return db;
      },
      (e: unknown) => {
        throw storageError(e);
      },
    );

  const upgrade = chunk(() => import('./indexedDbUpgrade.js'), 'storage-failed');

  const getConnection = (): Promise<IDBDatabase> => {
    if (closed) return Promise.reject(closedError());
    if (!connection) {
      // Lost or yielded (see openDb), or failed to open: the next call opens again.
      const drop = () => {
        if (connection === p) connection = undefined;
      };
      const p: Promise<IDBDatabase> = openDb(drop);
      connection = p;
      p.then((db) => (opened = [p, db]), drop);
    }
    return connection;
  };

  const run = <T>(
    stores: string[],
    mode: IDBTransactionMode,
    body: (tx: IDBTransaction) => T | Promise<T>,
    // Whether a failure may be retried now (absent: yes; append: only while no later append was
    // called); the retry itself passes one that says no.
    mayRetry?: () => boolean,
  ): Promise<T> => {
    const pending = getConnection();
    const go = (db: IDBDatabase): Promise<T> =>
      transact(db, stores, mode, mode === 'readwrite' ? txOptions : undefined, body).catch(
        (e: unknown) => {
          if (closed) throw closedError();
          const err = storageError(e);
          // A failure that looks like a lost connection (`lost`, in the operations chunk; before
          // that chunk arrived, any storage-failed one) drops the connection, so the next call
          // opens a fresh one; it is retried at once only when the chunk tells (never quota,
          // not-found…).
          if (err.code === 'storage-failed' && opsNow?.lost(err) !== false) {
            if (connection === pending) connection = undefined;
            try {
              db.close();
            } catch {
              // already closed
            }
            if (opsNow && mayRetry?.() !== false) return run(stores, mode, body, () => false);
          }
          throw err;
        },
      );
    // The hot path (the connection is open): the transaction starts now, not a tick later.
    return opened?.[0] === pending ? go(opened[1]) : pending.then(go);
  };

  /** `append` calls so far (see there). */
  let appends = 0;
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
      let high = finite(await req(tx.objectStore(META).get(HIGH_KEY)));
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

  /**
   * Everything but opening, appending and the meta values (the session token) is in a chunk
   * (indexedDbOps.ts), fetched as the store opens: a call made before it arrived waits for it
   * (in call order); one that finds it unfetchable rejects with `storage-failed`, and the next
   * call fetches it again.
   */
  /** The operations once their chunk arrived (append writes packs with them). */
  let opsNow: IdbOps | undefined;
  const ops = chunk(
    () =>
      import('./indexedDbOps.js').then(
        (m) =>
          (opsNow = m.idbOps({
            lib,
            run,
            reserve,
            onCorrupt: options.onCorrupt,
            close: () => store.close(),
            factory,
            name,
            blockedTimeoutMs,
          })),
      ),
    'storage-failed',
  );
  const store = {
    open: async () => {
      if (closed) throw closedError();
      ops.prefetch();
      upgrade.prefetch();
      await getConnection();
      // The one read of the highest stored seq, here rather than in the first append.
      if (lastSeq === undefined) await allocate(0);
    },

    append(batch: readonly NewEntry[], opts?: { generatedIds?: boolean }) {
      if (closed) return Promise.reject(closedError());
      if (batch.length === 0) return Promise.resolve([]);
      // Ids just generated (send()) cannot be stored yet: `put` skips the backend's lookup of an
      // existing record that `add` makes for each entry. Any other id: `add`, which refuses one
      // already stored (ConstraintError → invalid-id, see storageError).
      const write = opts?.generatedIds ? 'put' : 'add';
      // A failed append is retried only if no append was called after it: a retry commits after
      // that later one (a higher key), which other tabs' senders would see, and send, alone first.
      // Rejected instead (send() rejects: not stored), so committed entries appear in key order.
      const mine = ++appends;
      // The keys are taken now, at the call (see allocate), not when the transaction runs.
      // Awaited before the transaction starts: a transaction must not wait on anything else.
      // Once the operations chunk is here, a batch is written as packs (see `writeRuns`).
      const runs = batch.length > 1 ? opsNow : undefined;
      return after(allocate(batch.length), (first) =>
        run(
          runs ? [ENTRIES, META] : [ENTRIES],
          'readwrite',
          (tx) => {
            if (runs) return runs.writeRuns(tx, batch, first, write);
            // One request per entry, no promise per request. The first failing request
            // (ConstraintError, quota) is what is reported.
            const entries = tx.objectStore(ENTRIES);
            return batch.map((e, i): StoredEntry => {
              const stored = copyEntry(e) as StoredEntry;
              stored.seq = first + i + 1;
              entries[write](toRecord(stored));
              return stored;
            });
          },
          () => mine === appends,
        ),
      );
    },

    update: (entry, opts) => {
      if (closed) return Promise.reject(closedError());
      // A requeue's key is taken at the call, like an append's (call order, always).
      const requeueKey = opts?.requeue === true ? allocate(1) : undefined;
      if (requeueKey instanceof Promise) requeueKey.catch(() => {}); // reported by update's await
      return ops.call((o) => o.update(entry, requeueKey));
    },
    // Refused once closed by `run` (its connection), as every read here.
    getMeta: (key: string) =>
      run([META], 'readonly', (tx) => req(tx.objectStore(META).get(key) as IDBRequest<unknown>)),
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
  } as OutboxStore;
  // The chunk's methods, by name (`sweep` and `wipe` also once closed).
  ops.bind(
    store,
    'remove get list heads headOf count setMeta setMetaIfAbsent putTranscript claimTranscript removeDelivered listTranscript getTranscript pruneTranscript',
    () => closed && closedError(),
  );
  ops.bind(store, 'sweep wipe');
  return store;
}
