import type { StoredEntry } from '../outbox/entry.js';
import { claimable } from '../store/OutboxStore.js';
import type { OutboxStore, TranscriptRecord } from '../store/OutboxStore.js';

/** Reads the local transcript of a conversation. */
export interface Transcript {
  /**
   * Every line of a conversation, oldest first: what was delivered (guest and agent/bot messages,
   * stored durably) merged with the guest's messages still in the outbox (pending, sending,
   * failed). Ordered by each line's `order`, fixed when the line was written (design rule 13):
   * the guest's own lines in send order whatever time the server stamps on them, other lines
   * placed among them by server time; a line never moves once shown.
   */
  list(conversationId?: string, options?: { limit?: number }): Promise<TranscriptRecord[]>;
}

/** Transcript options on `createOutbox`. */
export interface TranscriptOptions {
  /** Lines kept per conversation; older delivered lines are pruned. @default 1000 */
  retention?: number;
}

/** The transcript as the outbox uses it: reads, plus writing lines. */
export interface TranscriptWriter extends Transcript {
  /**
   * Writes `records`; with `removeEntry`, also removes that (delivered) entry from the outbox.
   * A record without `order` is placed here: an Inbound line of an entry still in the outbox
   * takes that entry's order; any other line is placed among the guest's lines by its `time`.
   */
  record(records: readonly TranscriptRecord[], removeEntry?: string): Promise<void>;
  /**
   * Writes `record` (placed as `record` does) only when no line has its key yet, or the line
   * there is a hand-off left pending since before `staleBefore` (epoch ms); resolves with the
   * line as written (placed), or `undefined` when it wrote nothing. Atomic across processes on a store with `claimTranscript` (memory, SQLite,
   * PostgreSQL, and encrypted ones of them); elsewhere a read then a write.
   */
  claim(record: TranscriptRecord, staleBefore: number): Promise<TranscriptRecord | undefined>;
  /** The stored line with this key (delivered lines and others; not the outbox's entries). */
  get(key: string): Promise<TranscriptRecord | undefined>;
  /**
   * The order for the line of a message sent now (at `now` epoch ms): above every order this
   * writer gave or saw, and never behind the wall clock (ms × 1000), so the guest's lines keep
   * send order and a new line goes to the bottom.
   */
  nextOrder(now: number): number;
}

/** The transcript place of an outbox entry's line (legacy entries: `createdAt × 1000`). */
export const orderOf = (entry: StoredEntry): number => entry.order ?? entry.createdAt * 1000;

/** A record's order as the stores sort it (legacy records: `time × 1000`). */
export const recordOrder = (r: TranscriptRecord): number => r.order ?? r.time * 1000;

// Placing a line that comes without an order (agent lines) is loaded with `import()` when first
// needed: the first load of a page that only sends does not carry it.
const loadPlace = () => import('./place.js');

/** Writes transcript lines, prunes to the retention bound now and then, reports each line. */
export function transcriptWriter(
  store: OutboxStore,
  retention: number,
  defaultConversationId: string,
  onRecord: (record: TranscriptRecord) => void,
): TranscriptWriter {
  const writesSincePrune = new Map<string, number>();
  /** The highest order this writer gave or saw (lines read or written). */
  let highest = 0;

  /** `records` with an order each (see `record`). */
  const place = async (
    records: readonly TranscriptRecord[],
  ): Promise<readonly TranscriptRecord[]> =>
    records.every((r) => r.order !== undefined)
      ? records
      : (await loadPlace()).placeRecords(store, records);

  /** Reports written lines, and prunes to the retention bound now and then. */
  async function written(records: readonly TranscriptRecord[]): Promise<void> {
    for (const r of records) {
      onRecord(r);
      // Prune every 10% of the bound, not on every write: pruning reads the conversation's lines.
      const n = (writesSincePrune.get(r.conversationId) ?? 0) + 1;
      if (n >= Math.max(1, Math.ceil(retention / 10))) {
        writesSincePrune.set(r.conversationId, 0);
        await store.pruneTranscript(r.conversationId, retention);
      } else {
        writesSincePrune.set(r.conversationId, n);
      }
    }
  }

  return {
    nextOrder(now) {
      return (highest = Math.floor(Math.max(highest + 1, now * 1000)));
    },

    async record(input, removeEntry) {
      const records = await place(input);
      for (const r of records) highest = Math.max(highest, recordOrder(r));
      if (removeEntry !== undefined) {
        if (store.removeDelivered) await store.removeDelivered(removeEntry, records);
        else {
          await store.putTranscript(records);
          await store.remove(removeEntry);
        }
      } else if (records.length === 0) return;
      else await store.putTranscript(records);
      await written(records);
    },

    async claim(input, staleBefore) {
      const [record] = await place([input]);
      if (record === undefined) return undefined;
      const wrote = store.claimTranscript
        ? await store.claimTranscript(record, staleBefore)
        : claimable(await store.getTranscript(record.key), staleBefore) &&
          (await store.putTranscript([record]), true);
      if (wrote) {
        highest = Math.max(highest, recordOrder(record));
        await written([record]);
      }
      return wrote ? record : undefined;
    },

    get: (key) => store.getTranscript(key),

    async list(conversationId = defaultConversationId, options = {}) {
      const [stored, entries] = await Promise.all([
        store.listTranscript(conversationId),
        store.list(),
      ]);
      const byKey = new Map(stored.map((r) => [r.key, r]));
      for (const e of entries) {
        if (e.conversationId !== conversationId || byKey.has(e.id)) continue;
        byKey.set(e.id, {
          key: e.id,
          conversationId,
          direction: 'Inbound',
          text: e.text,
          time: e.createdAt,
          order: orderOf(e),
          status: e.status,
        });
      }
      // Stored lines come sorted (order, time, insertion); a stable sort keeps that for ties.
      const lines = [...byKey.values()].sort(
        (a, b) => recordOrder(a) - recordOrder(b) || a.time - b.time,
      );
      for (const l of lines) highest = Math.max(highest, recordOrder(l));
      return options.limit === undefined ? lines : lines.slice(-options.limit);
    },
  };
}
