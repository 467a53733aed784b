import type { TranscriptRecord } from '../store/OutboxStore.js';
import type { OutboxStore } from '../store/OutboxStore.js';
import { chunk } from '../internal/chunk.js';
import { orderOf } from '../outbox/entry.js';

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
   * line as written (placed), or `undefined` when it wrote nothing. Atomic across processes
   * and tabs on a store with `claimTranscript` (memory, SQLite, PostgreSQL, IndexedDB, and
   * encrypted ones of them); elsewhere a read then a write.
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

/**
 * Writes transcript lines, prunes to the retention bound now and then, reports each line. Only
 * `nextOrder` (what `send()` needs) is here, in the first load: the reads and writes (lines.ts)
 * are a chunk fetched as soon as the writer is made (when the outbox starts), not awaited; a
 * call that comes first waits for it, and one that finds it unfetchable rejects and fetches it
 * again next time.
 */
export function transcriptWriter(
  store: OutboxStore,
  retention: number,
  defaultConversationId: string,
  onRecord: (record: TranscriptRecord) => void,
): TranscriptWriter {
  /** The highest order this writer gave or saw (lines read or written). */
  let highest = 0;
  const saw = (order: number): void => {
    highest = Math.max(highest, order);
  };
  // Fetched now; a call made before it arrived waits for it (in call order), one that finds it
  // unfetchable rejects with `load-failed` and the next call fetches it again.
  const lines = chunk(
    () =>
      import('./lines.js').then((m) =>
        m.transcriptLines(store, retention, defaultConversationId, onRecord, saw, orderOf),
      ),
    'load-failed',
  );
  lines.prefetch();
  const writer = {
    nextOrder: (now) => (highest = Math.floor(Math.max(highest + 1, now * 1000))),
  } as TranscriptWriter;
  lines.bind(writer, 'record claim get list');
  return writer;
}
