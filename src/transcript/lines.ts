// The transcript's reads and writes behind `transcriptWriter` (transcript.ts): a chunk fetched
// as soon as the outbox starts, not in the first load.
import { claimable } from '../store/OutboxStore.js';
import type { OutboxStore, TranscriptRecord } from '../store/OutboxStore.js';
import type { orderOf as OrderOf } from '../outbox/entry.js';
import type { TranscriptWriter } from './transcript.js';

/** What the chunk adds to `nextOrder`. */
export type TranscriptLines = Omit<TranscriptWriter, 'nextOrder'>;

/** A record's order as the stores sort it (legacy records: `time × 1000`). */
const recordOrder = (r: TranscriptRecord): number => r.order ?? r.time * 1000;

// Placing a line that comes without an order (agent lines) is loaded with `import()` when first
// needed: a page that only sends does not fetch it.
const loadPlace = () => import('./place.js');

/** See {@link transcriptWriter}; `saw(order)` tells it of every order read or written. */
export function transcriptLines(
  store: OutboxStore,
  retention: number,
  defaultConversationId: string,
  onRecord: (record: TranscriptRecord) => void,
  saw: (order: number) => void,
  /** Lent by the first load rather than imported (a shared module is a file of its own). */
  orderOf: typeof OrderOf,
): TranscriptLines {
  const writesSincePrune = new Map<string, number>();

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
    async record(input, removeEntry) {
      const records = await place(input);
      for (const r of records) saw(recordOrder(r));
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
        saw(recordOrder(record));
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
      for (const l of lines) saw(recordOrder(l));
      return options.limit === undefined ? lines : lines.slice(-options.limit);
    },
  };
}
