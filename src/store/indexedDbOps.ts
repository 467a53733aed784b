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
 * Entries per pack at most (see `writeRuns`): a holder that leaves rewrites the rest of its pack
 * as a record of its own, so a delivery writes at most RUN - 1 entries more and draining a burst
 * of n costs O(n), not O(n²); a burst of 1,000 is 16 records (and entries of `heads`), not 1,000.
 */
const RUN = 64;

/** Internal meta keys are arrays, so they never collide with the string keys of `setMeta`. */
const TRANSCRIPT_N_KEY = ['tn'];

function fromRecord(r: EntryRecord): StoredEntry {
  const { queueConversationId: _q, top: _t, rest: _r, ids: _i, pack: _p, ...entry } = r;
  return entry;
}

/** Where an entry is: its own record (`at` -1), or member `at` of that record's pack. */
type Place = { record: EntryRecord; at: number };

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
   * and `meta` in scope), as packs: the queued entries of one conversation in a batch of more
   * than one are one record (up to RUN entries): the first (the holder) as the record, the others
   * in its `pack` (key order), and every id in its `ids` (a burst of n sends to one conversation
   * is n / RUN requests and entries of `heads`, not n). The high-water mark is raised to the
   * highest packed key (members are not in `heads`, where `readTopSeq` looks). When a holder
   * leaves its record (removed, updated, quarantined), the rest of its pack becomes a record of
   * its own, its first entry the holder (`promote`); a member that leaves (removed, failed,
   * requeued) is taken out of the pack. So the first queued entry of every conversation is always
   * a holder or a record alone, in `heads`.
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
const IDS: typeof Idb.IDS = 'ids';
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
   * Why a record's pack cannot be read (not an array, an entry that is not valid, not queued or
   * of another conversation), or undefined when it can (or there is none).
   */
  const invalidPack = (v: any): string | undefined => {
    const pack: unknown = v?.pack;
    if (pack === undefined) return undefined;
    if (!Array.isArray(pack)) return 'pack is not an array';
    for (const m of pack) {
      const reason =
        invalidEntry(m) ??
        (isQueued(m.status) && m.conversationId === v.conversationId ? undefined : 'not queued');
      if (reason !== undefined) return `pack: ${reason}`;
    }
    return undefined;
  };
  const invalidRecord = (v: unknown): string | undefined => invalidEntry(v) ?? invalidPack(v);

  /** Where entry `id` is stored (its own record first, then a pack through `ids`). */
  const locate = async (tx: IDBTransaction, id: string): Promise<Place | undefined> => {
    const entries = tx.objectStore(ENTRIES);
    const own = (await req(entries.get(id))) as EntryRecord | undefined;
    if (own !== undefined) return { record: own, at: -1 };
    const holder = (await req(entries.index(IDS).get(id))) as EntryRecord | undefined;
    const at = Array.isArray(holder?.pack) ? holder.pack.findIndex((m) => m?.id === id) : -1;
    return holder && at >= 0 ? { record: holder, at } : undefined;
  };

  /** `record` holding `pack` (none when it is empty), its `ids` listing them. */
  const holding = (record: EntryRecord, pack: StoredEntry[]): EntryRecord => {
    const { pack: _p, ...alone } = record;
    const ids = [record.id, ...pack.map((m) => m.id)];
    return pack.length > 0 ? { ...alone, ids, pack } : { ...alone, ids };
  };

  /** `holder` without member `at` of its pack. */
  const without = (holder: EntryRecord, at: number): EntryRecord =>
    holding(
      holder,
      (holder.pack ?? []).filter((_, i) => i !== at),
    );

  /**
   * The pack of `old`, whose holder left the record (removed, rewritten alone, quarantined), as a
   * record of its own, its first entry the holder. Issued after the request that replaced or
   * deleted `old` (`ids` is unique). Callers have checked that the pack can be read
   * (`invalidPack`): one that cannot is kept or quarantined, never promoted.
   */
  const promote = (entries: IDBObjectStore, old: EntryRecord): void => {
    const [next, ...rest] = Array.isArray(old.pack) ? old.pack : [];
    if (next !== undefined) entries.put(holding(toRecord(next), rest));
  };

  /** Raises the high-water mark to `seq`, inside the caller's transaction (`meta` in scope). */
  const raise = async (tx: IDBTransaction, seq: number): Promise<void> => {
    if (seq > finite(await readMark(tx))) tx.objectStore(META).put(seq, HIGH_KEY);
  };

  /**
   * Deletes an entry inside the caller's transaction (`entries`, `meta` and `quarantine` in
   * scope); the mark keeps its key, so a reopen never hands it out again. A holder's pack
   * becomes a record of its own; one that cannot be read is moved to `quarantine` (returned, to
   * be reported), never dropped.
   */
  const dropEntry = async (tx: IDBTransaction, id: string): Promise<Bad | undefined> => {
    const entries = tx.objectStore(ENTRIES);
    const [place, mark] = await Promise.all([locate(tx, id), readMark(tx)]);
    if (place === undefined) return undefined;
    const { record, at } = place;
    const seq = finite(at < 0 ? record.seq : record.pack?.[at]?.seq);
    if (seq > finite(mark)) tx.objectStore(META).put(seq, HIGH_KEY);
    if (at >= 0) {
      entries.put(without(record, at));
      return undefined;
    }
    entries.delete(id);
    const reason = invalidPack(record);
    if (reason === undefined) {
      promote(entries, record);
      return undefined;
    }
    tx.objectStore(QUARANTINE).add({
      key: id,
      reason,
      value: { pack: record.pack },
      at: Date.now(),
    });
    return { key: id, reason };
  };

  const report = (moved: readonly (Bad | undefined)[]): void => {
    for (const m of moved) {
      try {
        if (m) core.onCorrupt?.(m);
      } catch {
        // a throwing callback must not break the store
      }
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
          const value = (await req(entries.get(b.key))) as EntryRecord | undefined;
          if (value === undefined || invalidRecord(value) === undefined) continue; // gone or fixed
          // A pack that can be read goes on as a record of its own; one that cannot goes too.
          const packed = invalidPack(value) === undefined;
          const { pack: _p, ids: _i, ...alone } = value;
          tx.objectStore(QUARANTINE).add({
            key: b.key,
            reason: b.reason,
            value: packed ? alone : value,
            at: Date.now(),
          });
          entries.delete(b.key);
          if (packed) promote(entries, value);
          await raise(tx, finite((value as { seq?: unknown }).seq));
          out.push(b);
        }
        return out;
      });
    } catch {
      // Could not move it aside: readers skip it anyway, so it still blocks nothing.
    }
    report(moved);
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
        const reason = invalidRecord(v);
        if (reason !== undefined) skipped.push({ key: cursor.primaryKey, reason });
        if (reason !== undefined || !isQueued(v.status)) {
          // The next one of the same conversation; but a corrupt holder's pack comes before
          // that one: none of this conversation until the quarantine below hands it on.
          const held =
            reason !== undefined && Array.isArray((v as { pack?: unknown } | null)?.pack);
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
      // `add` refuses an id stored already (`ids` is unique), but not one twice in one pack.
      if (write === 'add' && new Set(stored.map((s) => s.id)).size < stored.length) {
        throw new OutboxError('invalid-id', 'duplicate id');
      }
      const records: EntryRecord[] = [];
      /** The record each conversation's queued entries go into, while it has room. */
      const open = new Map<string, EntryRecord & { ids: string[] }>();
      let top = 0;
      for (const s of stored) {
        const queued = isQueued(s.status);
        const holder = queued ? open.get(s.conversationId) : undefined;
        if (holder && holder.ids.length < RUN) {
          (holder.pack ??= []).push(s); // as it is (no index field): the request clones it
          holder.ids.push(s.id);
          top = s.seq;
          continue;
        }
        const record = toRecord(s) as EntryRecord & { ids: string[] };
        records.push(record);
        if (queued) open.set(s.conversationId, record);
      }
      const meta = tx.objectStore(META);
      // Read before the entries are written, so that it comes back while they are.
      const mark = top > 0 ? meta.get(HIGH_KEY) : undefined;
      const entries = tx.objectStore(ENTRIES);
      for (const r of records) entries[write](r);
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
        const place = await locate(tx, entry.id);
        if (place === undefined) {
          throw new OutboxError('not-found', 'no entry', { details: { id: entry.id } });
        }
        const { record, at } = place;
        const old = at < 0 ? record : (record.pack as StoredEntry[])[at];
        // seq belongs to the store: a fresh one only to go to the back (or if the old is
        // unusable: a key from the hybrid clock, no read inside this transaction).
        let seq = old?.seq;
        if (fresh !== undefined) seq = fresh;
        else if (typeof seq !== 'number') seq = core.reserve(1) + 1;
        const stored: StoredEntry = { ...copyEntry(entry), seq };
        if (at < 0) {
          // A holder is rewritten alone, then its pack is a record of its own (one that cannot
          // be read stays where it is, for a reader to quarantine).
          if (invalidPack(record) === undefined) {
            entries.put(toRecord(stored));
            promote(entries, record);
          } else entries.put({ ...toRecord(stored), ids: record.ids, pack: record.pack });
        } else if (
          seq === old?.seq &&
          isQueued(stored.status) &&
          stored.conversationId === record.conversationId
        ) {
          // Keeps its place in its pack.
          const pack = [...(record.pack as StoredEntry[])];
          pack[at] = stored;
          entries.put({ ...record, pack });
        } else {
          entries.put(without(record, at)); // out of the pack first (`ids` is unique)
          entries.put(toRecord(stored));
        }
        return stored;
      });
    },

    remove: async (id: string) => {
      report([await core.run([ENTRIES, META, QUARANTINE], 'readwrite', (tx) => dropEntry(tx, id))]);
    },

    get: async (id: string) => {
      const place = await core.run([ENTRIES], 'readonly', (tx) => locate(tx, id));
      if (place === undefined) return undefined;
      const { record, at } = place;
      const reason = invalidRecord(record);
      if (reason !== undefined) await quarantine([{ key: record.id, reason }]);
      // A member of a pack that can be read is there, whatever its holder.
      if (at >= 0) return invalidPack(record) === undefined ? record.pack?.[at] : undefined;
      return reason === undefined ? fromRecord(record) : undefined;
    },

    list: async () => {
      // list() returns everything by definition, so one getAll is the cheapest read here.
      const all = (await core.run([ENTRIES], 'readonly', (tx) =>
        req(tx.objectStore(ENTRIES).getAll()),
      )) as EntryRecord[];
      const good: StoredEntry[] = [];
      const bad: Bad[] = [];
      for (const v of all) {
        // A corrupt holder's readable pack goes on (the quarantine makes it a record of its own);
        // a pack that cannot be read goes aside with its holder.
        const packed = invalidPack(v);
        const reason = invalidEntry(v) ?? packed;
        if (reason === undefined) good.push(fromRecord(v));
        else bad.push({ key: (v as any)?.id, reason });
        if (packed === undefined && v.pack) good.push(...v.pack);
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

    // Every id of every record (each record lists its own and its pack's).
    count: () =>
      core.run([ENTRIES], 'readonly', (tx) => req(tx.objectStore(ENTRIES).index(IDS).count())),

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
      const [, moved] = await core.run([ENTRIES, TRANSCRIPT, META, QUARANTINE], 'readwrite', (tx) =>
        Promise.all([writeTranscript(tx, records), dropEntry(tx, id)]),
      );
      report([moved]);
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
