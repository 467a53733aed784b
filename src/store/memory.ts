import { OutboxError } from '../errors/OutboxError.js';
import { copyEntry } from '../outbox/entry.js';
import type { NewEntry, StoredEntry } from '../outbox/entry.js';
import { claimable } from './OutboxStore.js';
import type { OutboxStore, TranscriptRecord } from './OutboxStore.js';

interface TranscriptSlot {
  record: TranscriptRecord;
  /** Insertion number: breaks ties between records with the same `time`. */
  n: number;
}

const isQueued = (e: StoredEntry): boolean => e.status === 'pending' || e.status === 'sending';

/** Inserts `id` into `line` (ids sorted by seq) at the position its seq belongs. */
function insertBySeq(line: string[], id: string, seq: number, seqOf: (id: string) => number): void {
  let lo = 0;
  let hi = line.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqOf(line[mid] as string) < seq) lo = mid + 1;
    else hi = mid;
  }
  line.splice(lo, 0, id);
}

/**
 * An outbox store that lives in memory: nothing survives a reload. For tests, server-side
 * rendering and environments without IndexedDB. Keeps one line (ids ordered by `seq`) per
 * conversation so `heads()` looks at one entry per conversation, and hands out copies only.
 *
 * @example
 * const outbox = await createOutbox({ transport, store: memoryStore() });
 */
export function memoryStore(): OutboxStore {
  const entries = new Map<string, StoredEntry>();
  /** conversationId → ids of its pending/sending entries, oldest seq first. */
  const lines = new Map<string, string[]>();
  const meta = new Map<string, unknown>();
  const transcript = new Map<string, Map<string, TranscriptSlot>>();
  const transcriptKeys = new Map<string, string>(); // key → conversationId
  let seq = 0;
  let n = 0;
  let closed = false;

  const seqOf = (id: string): number => entries.get(id)?.seq ?? Number.POSITIVE_INFINITY;
  const check = (): void => {
    if (closed) throw new OutboxError('closed', 'The store is closed');
  };
  // Every method is async so that a closed store rejects instead of throwing synchronously.
  const op =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    async (...args: A): Promise<R> => {
      check();
      return fn(...args);
    };

  const unlink = (e: StoredEntry): void => {
    const line = lines.get(e.conversationId);
    if (!line) return;
    const i = line.indexOf(e.id);
    if (i >= 0) line.splice(i, 1);
    if (line.length === 0) lines.delete(e.conversationId);
  };
  const link = (e: StoredEntry): void => {
    if (!isQueued(e)) return;
    let line = lines.get(e.conversationId);
    if (!line) lines.set(e.conversationId, (line = []));
    insertBySeq(line, e.id, e.seq, seqOf);
  };
  function putLines(records: readonly TranscriptRecord[]): void {
    const copies = records.map((r) => structuredClone(r)); // clone first: all or nothing
    for (const record of copies) {
      const prevConversation = transcriptKeys.get(record.key);
      const prev =
        prevConversation === undefined
          ? undefined
          : transcript.get(prevConversation)?.get(record.key);
      if (prevConversation !== undefined) transcript.get(prevConversation)?.delete(record.key);
      let slots = transcript.get(record.conversationId);
      if (!slots) transcript.set(record.conversationId, (slots = new Map()));
      // A replaced record keeps its order and its insertion number: a line never moves.
      record.order = prev?.record.order ?? record.order ?? record.time * 1000;
      slots.set(record.key, { record, n: prev?.n ?? ++n });
      transcriptKeys.set(record.key, record.conversationId);
    }
  }

  const ordered = (conversationId: string): TranscriptSlot[] =>
    [...(transcript.get(conversationId)?.values() ?? [])].sort(
      (a, b) =>
        (a.record.order as number) - (b.record.order as number) ||
        a.record.time - b.record.time ||
        a.n - b.n,
    );

  return {
    open: op(() => {}),

    append: op((batch: readonly NewEntry[]) => {
      const ids = new Set<string>();
      for (const e of batch) {
        if (entries.has(e.id) || ids.has(e.id)) {
          throw new OutboxError('invalid-id', 'An entry with this id is already stored', {
            details: { id: e.id },
          });
        }
        ids.add(e.id);
      }
      return batch.map((e) => {
        const stored: StoredEntry = { ...copyEntry(e), seq: ++seq };
        entries.set(stored.id, stored);
        link(stored);
        return structuredClone(stored);
      });
    }),

    update: op((entry: StoredEntry, options?: { requeue?: boolean }) => {
      const old = entries.get(entry.id);
      if (!old) {
        throw new OutboxError('not-found', 'No entry with this id', { details: { id: entry.id } });
      }
      // seq belongs to the store: keep the stored one unless the entry goes to the back.
      const stored: StoredEntry = {
        ...copyEntry(entry),
        seq: options?.requeue === true ? ++seq : old.seq,
      };
      unlink(old);
      entries.set(stored.id, stored);
      link(stored);
      return structuredClone(stored);
    }),

    remove: op((id: string) => {
      const old = entries.get(id);
      if (!old) return;
      unlink(old);
      entries.delete(id);
    }),

    get: op((id: string) => {
      const e = entries.get(id);
      return e && structuredClone(e);
    }),

    list: op(() =>
      [...entries.values()].sort((a, b) => a.seq - b.seq).map((e) => structuredClone(e)),
    ),

    heads: op((limit?: number) => {
      const heads: StoredEntry[] = [];
      for (const line of lines.values()) {
        const head = line[0] === undefined ? undefined : entries.get(line[0]);
        if (head) heads.push(head);
      }
      heads.sort((a, b) => a.seq - b.seq);
      return heads.slice(0, Math.max(0, limit ?? heads.length)).map((e) => structuredClone(e));
    }),

    headOf: op((conversationId: string) => {
      const id = lines.get(conversationId)?.[0];
      const head = id === undefined ? undefined : entries.get(id);
      return head && structuredClone(head);
    }),

    count: op(() => entries.size),

    getMeta: op((key: string) => structuredClone(meta.get(key))),

    setMeta: op((key: string, value: unknown) => {
      meta.set(key, structuredClone(value));
    }),

    setMetaIfAbsent: op((key: string, value: unknown) => {
      if (meta.get(key) === undefined) meta.set(key, structuredClone(value));
      return structuredClone(meta.get(key));
    }),

    putTranscript: op((records: readonly TranscriptRecord[]) => putLines(records)),

    claimTranscript: op((record: TranscriptRecord, staleBefore: number) => {
      const conversationId = transcriptKeys.get(record.key);
      const existing =
        conversationId === undefined ? undefined : transcript.get(conversationId)?.get(record.key);
      if (!claimable(existing?.record, staleBefore)) return false;
      putLines([record]);
      return true;
    }),

    listTranscript: op((conversationId: string, limit?: number) => {
      const all = ordered(conversationId);
      return all
        .slice(limit === undefined ? 0 : Math.max(0, all.length - limit))
        .map((s) => structuredClone(s.record));
    }),

    getTranscript: op((key: string) => {
      const conversationId = transcriptKeys.get(key);
      const slot =
        conversationId === undefined ? undefined : transcript.get(conversationId)?.get(key);
      return slot && structuredClone(slot.record);
    }),

    sweep: op(() => ({
      scanTranscript: op((after: string | undefined, limit: number) =>
        [...transcript.values()]
          .flatMap((slots) => [...slots.values()].map((s) => s.record))
          .filter((r) => after === undefined || r.key > after)
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
          .slice(0, Math.max(0, limit))
          .map((r) => structuredClone(r)),
      ),

      replaceTranscriptText: op((changes: readonly { key: string; from: string; to: string }[]) => {
        for (const c of changes) {
          const conversationId = transcriptKeys.get(c.key);
          const slot =
            conversationId === undefined ? undefined : transcript.get(conversationId)?.get(c.key);
          if (slot !== undefined && slot.record.text === c.from)
            slot.record = { ...slot.record, text: c.to };
        }
      }),

      metaKeys: op(() => [...meta.keys()]),
    })),

    pruneTranscript: op((conversationId: string, keep: number) => {
      const all = ordered(conversationId);
      const slots = transcript.get(conversationId);
      for (const s of all.slice(0, Math.max(0, all.length - Math.max(0, keep)))) {
        slots?.delete(s.record.key);
        transcriptKeys.delete(s.record.key);
      }
    }),

    wipe: async () => {
      closed = true;
      for (const m of [entries, lines, meta, transcript, transcriptKeys]) m.clear();
    },

    close: async () => {
      closed = true;
    },
  };
}
