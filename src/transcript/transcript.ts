import type { OutboxStore, TranscriptRecord } from '../store/OutboxStore.js';

/** Reads the local transcript of a conversation. */
export interface Transcript {
  /**
   * Every line of a conversation, oldest first: what was delivered (guest and agent/bot messages,
   * stored durably) merged with the guest's messages still in the outbox (pending, sending,
   * failed). Ordered by `time` (Genesys' `channel.time` once known), so frames that arrived out of
   * order are shown in order.
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
  /** Writes `records`; with `removeEntry`, also removes that (delivered) entry from the outbox. */
  record(records: readonly TranscriptRecord[], removeEntry?: string): Promise<void>;
}

/** Writes transcript lines, prunes to the retention bound now and then, reports each line. */
export function transcriptWriter(
  store: OutboxStore,
  retention: number,
  defaultConversationId: string,
  onRecord: (record: TranscriptRecord) => void,
): TranscriptWriter {
  const writesSincePrune = new Map<string, number>();
  return {
    async record(records, removeEntry) {
      if (removeEntry !== undefined) {
        if (store.removeDelivered) await store.removeDelivered(removeEntry, records);
        else {
          await store.putTranscript(records);
          await store.remove(removeEntry);
        }
      } else if (records.length === 0) return;
      else await store.putTranscript(records);
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
    },

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
          status: e.status,
        });
      }
      const lines = [...byKey.values()].sort((a, b) => a.time - b.time);
      return options.limit === undefined ? lines : lines.slice(-options.limit);
    },
  };
}
