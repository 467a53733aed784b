// The IndexedDB store's operations other than opening and appending (indexedDb.ts): reading,
// updating and removing entries, the heads, the transcript, quarantine, sweep and wipe. A chunk
// of its own (issue 15), fetched when the store opens; storing a message durably does not need
// it. Part of the store's private schema (indexedDb.ts): the names and the smallest helpers are
// written out here, the others are lent by the first load.
import type { NewEntry, StoredEntry } from '../outbox/entry.js';
import { claimable } from './OutboxStore.js';
import type { OutboxStore, TranscriptRecord } from './OutboxStore.js';
import type { Run } from './indexedDbSweep.js';
import { invalidEntry } from './validate.js';
import type { EntryRecord, IdbLib } from './indexedDb.js';
import type * as Idb from './indexedDb.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- IDB values are untyped at this boundary */
type Bad = { key: IDBValidKey; reason: string };

/**
 * Entries per run at most (see `writeRuns`): a holder that leaves rewrites the next one with the
 * rest of the ids, so a delivery writes at most RUN - 1 ids more and draining a burst of n costs
 * O(n), not O(n²); a burst of 1,000 is 16 entries of `heads` instead of 1,000.
 */
const RUN = 64;

/** Internal meta keys are arrays, so they never collide with the string keys of `setMeta`. */
const TRANSCRIPT_N_KEY = ['tn'];

function fromRecord(r: EntryRecord): StoredEntry {
  const { queueConversationId: _q, top: _t, rest: _r, ...entry } = r;
  return entry;
}

/** What the store's first-load part (indexedDb.ts) lends the operations. */
export interface IdbCore {
  /** The schema's names and the helpers of indexedDb.ts (handed over, not imported). */
  lib: IdbLib;
  run: Run;
  /** Order keys from the hybrid clock once the highest stored key is known (`reserve`). */
  reserve(n: number): number;
  onCorrupt: ((info: { key: unknown; reason: string }) => void) | undefined;
  close(): Promise<void>;
  factory(): IDBFactory;
  name: string;
  blockedTimeoutMs: number;
}

/** The operations `indexedDbStore` delegates here. */
export type IdbOps = Required<
  Pick<
    OutboxStore,
    | 'remove'
    | 'get'
    | 'list'
    | 'heads'
    | 'headOf'
    | 'count'
    | 'setMeta'
    | 'setMetaIfAbsent'
    | 'putTranscript'
    | 'claimTranscript'
    | 'removeDelivered'
    | 'listTranscript'
    | 'sweep'
    | 'getTranscript'
    | 'pruneTranscript'
    | 'wipe'
  >
> & {
  /**
   * `OutboxStore.update`; a requeue brings the key `allocate(1)` reserved when it was called
   * (call order, like an append's, whenever this chunk arrived).
   */
  update(entry: StoredEntry, requeueKey?: number | Promise<number>): Promise<StoredEntry>;
  /**
   * An append's writes (`batch`, its keys after `first`), inside its transaction (`entries`
   * and `meta` in scope), as runs: the queued entries of one conversation in a batch of more than
   * one are a run (up to RUN entries), and only its first entry (the holder) is in `heads`, with the ids of the
   * others in `rest` (key order); the others, the members, are not indexed at all (a burst of n
   * sends to one conversation writes n / RUN index entries, not n). The high-water mark is raised to the highest member's
   * key (members are not in `heads`, where `readTopSeq` looks). When a holder leaves its place
   * (removed, failed, requeued), the next member still stored becomes the holder of the rest;
   * a member that leaves is taken out of its holder's `rest` (see `leave`). So the first queued
   * entry of every conversation is always in `heads`.
   */
  writeRuns(
    tx: IDBTransaction,
    batch: readonly NewEntry[],
    first: number,
    write: 'put' | 'add',
  ): StoredEntry[] | Promise<StoredEntry[]>;
  /**
   * Whether a failed transaction's error (as `storageError` made it) looks like a lost
   * connection (closed under us, WebKit's "Connection to Indexed Database server lost", an abort
   * nobody asked for): the store then reopens and retries once, which is safe because an aborted
   * transaction committed nothing. Never quota, constraint or not-found errors. Until this chunk
   * is there, nothing is retried (the store's first minutes are the only time that can be).
   */
  lost(error: { code: string; cause?: unknown }): boolean;
};

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

function fromTranscript(r: TranscriptRecord & { n?: number }): TranscriptRecord {
  const { n: _n, ...record } = r;
  return record;
}

// The schema's names (see indexedDb.ts), written out rather than handed over by the first load.
const ENTRIES: typeof Idb.ENTRIES = 'entries';
const META: typeof Idb.META = 'meta';
const TRANSCRIPT: typeof Idb.TRANSCRIPT = 'transcript';
const QUARANTINE: typeof Idb.QUARANTINE = 'quarantine';
const HEADS: typeof Idb.HEADS = 'heads';
const BY_ORDER: typeof Idb.BY_ORDER = 'byOrder';
const HIGH_KEY = ['top'];
const NOT_QUEUED: never[] = [];
// Small helpers of indexedDb.ts, written out here too (see above).
const req = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
const readMark = (tx: IDBTransaction): Promise<unknown> => req(tx.objectStore(META).get(HIGH_KEY));
const finite = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** The operations of one store. */
export function idbOps(core: IdbCore): IdbOps {
  const { isQueued, toRecord, copyEntry, OutboxError } = core.lib;
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
    await leave(tx, old);
  };

  /**
   * `old` (as stored) leaves its place in the queue (removed, failed, requeued), inside the
   * caller's transaction (`entries` in scope): a run's holder hands `rest` to the next of its
   * members still stored, which goes into `heads`; a member is taken out of its holder's `rest`
   * (the holder: an entry of `heads` of the same conversation, below it).
   */
  const leave = async (tx: IDBTransaction, old: EntryRecord | undefined): Promise<void> => {
    if (typeof old !== 'object' || old === null) return;
    const entries = tx.objectStore(ENTRIES);
    const rest = Array.isArray(old.rest) ? old.rest : undefined;
    if (rest !== undefined) {
      for (let i = 0; i < rest.length; i++) {
        const next = (await req(entries.get(rest[i] as string))) as EntryRecord | undefined;
        // Gone (quarantined), or not queued (a member that failed is no longer listed here).
        if (typeof next !== 'object' || next === null || !isQueued(next.status)) continue;
        const record: EntryRecord = toRecord(fromRecord(next));
        if (i + 1 < rest.length) record.rest = rest.slice(i + 1);
        entries.put(record);
        return;
      }
    } else if (
      old.queueConversationId === undefined &&
      isQueued(old.status) &&
      typeof old.conversationId === 'string'
    ) {
      const below = typeof old.seq === 'number' ? old.seq : [];
      const range = IDBKeyRange.bound([old.conversationId], [old.conversationId, below]);
      await walk(entries.index(HEADS).openCursor(range, 'prev'), (cursor) => {
        const holder = cursor.value as EntryRecord;
        if (!Array.isArray(holder.rest) || !holder.rest.includes(old.id)) {
          cursor.continue();
          return true;
        }
        const record: EntryRecord = { ...holder, rest: holder.rest.filter((id) => id !== old.id) };
        if (record.rest?.length === 0) delete record.rest;
        cursor.update(record);
        return false;
      });
    }
  };

  const quarantine = async (bad: Bad[]): Promise<void> => {
    if (bad.length === 0) return;
    let moved: Bad[] = [];
    try {
      moved = await core.run([ENTRIES, QUARANTINE, META], 'readwrite', async (tx) => {
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
        core.onCorrupt?.(m);
      } catch {
        // a throwing callback must not break the store
      }
    }
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

  /**
   * The head of each conversation in `range` of the sparse index [queueConversationId, seq]:
   * take the first record of a conversation, then seek past the rest of it ([id, []] sorts after
   * every [id, seq]). Each step opens a fresh cursor at that bound: Chromium's
   * cursor.continue(key) walks every record in between (100 000 queued entries made recovery 10x
   * slower), a new cursor seeks.
   */
  const scanHeads = async (range: IDBKeyRange, one = false): Promise<StoredEntry[]> => {
    const { heads, bad } = await core.run([ENTRIES], 'readonly', async (tx) => {
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
          // The next one of the same conversation; but a corrupt holder's members come before
          // that one: none of this conversation until the quarantine below hands them on.
          const held =
            reason !== undefined && Array.isArray((v as { rest?: unknown } | null)?.rest);
          from = past(held ? [key[0] as IDBValidKey, []] : key);
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

  return {
    writeRuns: (tx, batch, first, write) => {
      const stored = batch.map((e, i): StoredEntry => {
        const s = copyEntry(e) as StoredEntry;
        s.seq = first + i + 1;
        return s;
      });
      const runs: StoredEntry[][] = [];
      const last = new Map<string, StoredEntry[]>();
      for (const s of stored) {
        if (!isQueued(s.status)) continue;
        let run = last.get(s.conversationId);
        if (!run || run.length >= RUN) {
          run = [];
          last.set(s.conversationId, run);
          runs.push(run);
        }
        run.push(s);
      }
      const holders = new Map<StoredEntry, string[]>();
      const members = new Set<StoredEntry>();
      let top = 0;
      for (const run of runs) {
        if (run.length < 2) continue;
        const rest = run.slice(1);
        holders.set(
          run[0] as StoredEntry,
          rest.map((s) => s.id),
        );
        for (const s of rest) members.add(s);
        top = Math.max(top, (run.at(-1) as StoredEntry).seq);
      }
      const meta = tx.objectStore(META);
      // Read before the entries are written, so that it comes back while they are.
      const mark = top > 0 ? meta.get(HIGH_KEY) : undefined;
      const entries = tx.objectStore(ENTRIES);
      for (const s of stored) {
        // A member as it is (no index field): the request clones it.
        if (members.has(s)) entries[write](s);
        else {
          const rest = holders.get(s);
          entries[write](rest ? { ...toRecord(s), rest } : toRecord(s));
        }
      }
      if (mark === undefined) return stored;
      return new Promise((resolve, reject) => {
        mark.onsuccess = () => {
          if (finite(mark.result) < top) meta.put(top, HIGH_KEY);
          try {
            tx.commit?.(); // every request issued (see transact)
          } catch {
            // aborted meanwhile: its own events tell
          }
          resolve(stored);
        };
        mark.onerror = () => reject(mark.error);
      });
    },

    update: async (entry, requeueKey) => {
      const fresh = requeueKey === undefined ? undefined : (await requeueKey) + 1;
      return core.run([ENTRIES], 'readwrite', async (tx) => {
        const entries = tx.objectStore(ENTRIES);
        const old = (await req(entries.get(entry.id))) as EntryRecord | undefined;
        if (old === undefined) {
          throw new OutboxError('not-found', 'no entry', { details: { id: entry.id } });
        }
        // seq belongs to the store: a fresh one only to go to the back (or if the old is
        // unusable: a key from the hybrid clock, no read inside this transaction).
        let seq = old.seq;
        if (fresh !== undefined) seq = fresh;
        else if (typeof seq !== 'number') seq = core.reserve(1) + 1;
        const stored: StoredEntry = { ...copyEntry(entry), seq };
        let record: EntryRecord = toRecord(stored);
        if (
          seq === old.seq &&
          isQueued(stored.status) &&
          isQueued(old.status) &&
          stored.conversationId === old.conversationId
        ) {
          // Keeps its place in its run: a member stays out of `heads`, a holder keeps `rest`.
          if (old.queueConversationId === undefined) record = stored;
          else if (Array.isArray(old.rest)) record.rest = old.rest;
        } else {
          await leave(tx, old);
        }
        entries.put(record);
        return stored;
      });
    },

    remove: async (id: string) => {
      await core.run([ENTRIES, META], 'readwrite', (tx) => dropEntry(tx, id));
    },

    get: async (id: string) => {
      const v = (await core.run([ENTRIES], 'readonly', (tx) =>
        req(tx.objectStore(ENTRIES).get(id)),
      )) as EntryRecord | undefined;
      if (v === undefined) return undefined;
      const reason = invalidEntry(v);
      if (reason === undefined) return fromRecord(v);
      await quarantine([{ key: id, reason }]);
      return undefined;
    },

    list: async () => {
      // list() returns everything by definition, so one getAll is the cheapest read here.
      const all = (await core.run([ENTRIES], 'readonly', (tx) =>
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
    },

    heads: async (limit?: number) => {
      // Every conversation: the keys up to [NOT_QUEUED], which sorts before [NOT_QUEUED, seq].
      const heads = await scanHeads(IDBKeyRange.upperBound([NOT_QUEUED]));
      heads.sort((a, b) => a.seq - b.seq);
      return limit === undefined ? heads : heads.slice(0, Math.max(0, limit));
    },

    headOf: async (conversationId: string) =>
      (await scanHeads(conversationRange(conversationId), true))[0],

    count: () => core.run([ENTRIES], 'readonly', (tx) => req(tx.objectStore(ENTRIES).count())),

    setMeta: async (key: string, value: unknown) => {
      await core.run([META], 'readwrite', (tx) => {
        tx.objectStore(META).put(value, key);
      });
    },

    // One readwrite transaction: another tab's runs before or after it, never between.
    setMetaIfAbsent: (key: string, value: unknown) =>
      core.run([META], 'readwrite', async (tx) => {
        const kept: unknown = await req(tx.objectStore(META).get(key));
        if (kept !== undefined) return kept;
        tx.objectStore(META).put(value, key);
        return value;
      }),

    lost: ({ code, cause }) =>
      code === 'storage-failed' &&
      !(cause instanceof OutboxError) &&
      ['InvalidStateError', 'UnknownError', 'AbortError', 'TransactionInactiveError'].includes(
        (cause as { name?: unknown } | null)?.name as string,
      ),

    putTranscript: async (records: readonly TranscriptRecord[]) => {
      if (records.length === 0) return;
      await core.run([TRANSCRIPT, META], 'readwrite', (tx) => writeTranscript(tx, records));
    },

    // The read of the stored line and the write in ONE readwrite transaction (awaiting only its
    // own requests in between): two tabs claiming one key at once cannot both win, IndexedDB
    // runs readwrite transactions on the same store one after the other.
    claimTranscript: (record: TranscriptRecord, staleBefore: number) =>
      core.run([TRANSCRIPT, META], 'readwrite', async (tx) => {
        const stored = (await req(tx.objectStore(TRANSCRIPT).get(record.key))) as
          TranscriptRecord | undefined;
        const ok = claimable(stored, staleBefore);
        if (ok) await writeTranscript(tx, [record]);
        return ok;
      }),

    removeDelivered: async (id: string, records: readonly TranscriptRecord[]) => {
      await core.run([ENTRIES, TRANSCRIPT, META], 'readwrite', (tx) =>
        Promise.all([writeTranscript(tx, records), dropEntry(tx, id)]),
      );
    },

    listTranscript: (conversationId: string, limit?: number) =>
      core.run([TRANSCRIPT], 'readonly', async (tx) => {
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

    // A chunk of its own: only an encrypted outbox's sweep calls it (run refuses once closed).
    sweep: async () => (await import('./indexedDbSweep.js')).sweepOf(core.run),

    getTranscript: async (key: string) => {
      const v = (await core.run([TRANSCRIPT], 'readonly', (tx) =>
        req(tx.objectStore(TRANSCRIPT).get(key)),
      )) as TranscriptRecord | undefined;
      return v === undefined ? undefined : fromTranscript(v);
    },

    pruneTranscript: async (conversationId: string, keep: number) => {
      await core.run([TRANSCRIPT], 'readwrite', (tx) => {
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
    },

    wipe: async () => {
      await core.close();
      // Loaded only when called: most pages never wipe.
      const { deleteDatabase } = await import('./deleteDatabase.js');
      await deleteDatabase(OutboxError, core.factory(), core.name, core.blockedTimeoutMs);
    },
  };
}
