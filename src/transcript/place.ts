import type { StoredEntry } from '../outbox/entry.js';
import type { OutboxStore, TranscriptRecord } from '../store/OutboxStore.js';

// The same two one-liners as in transcript.ts: imported from there, a bundler would split them
// into a third chunk shared by the first load and this lazily loaded one.
const orderOf = (e: StoredEntry): number => e.order ?? e.createdAt * 1000;
const recordOrder = (r: TranscriptRecord): number => r.order ?? r.time * 1000;

/** A line of the guest's own: its order, and the server's time once delivered. */
interface GuestLine {
  order: number;
  serverTime?: number;
}

/**
 * Where a line with server time `time` goes among the guest's own lines (design rule 13): just
 * after the last of them (in send order) that the server stamped at or before `time`; before the
 * first one if none was (a welcome message); by `time × 1000` in a conversation with no line of
 * the guest's yet. Guest orders are whole numbers (ms × 1000 + a counter), so `± 0.5` falls
 * between two of them and never on one; lines with the same place sort by `time`.
 */
export function placeAmong(guest: readonly GuestLine[], time: number): number {
  let after: number | undefined;
  let first: number | undefined;
  for (const g of guest) {
    if (first === undefined || g.order < first) first = g.order;
    if (g.serverTime !== undefined && g.serverTime <= time && (after ?? -Infinity) < g.order) {
      after = g.order;
    }
  }
  return after !== undefined ? after + 0.5 : first !== undefined ? first - 0.5 : time * 1000;
}

/** The guest's lines of a conversation: delivered ones stored, and those still in the outbox. */
async function guestLines(store: OutboxStore, conversationId: string): Promise<GuestLine[]> {
  const [stored, entries] = await Promise.all([store.listTranscript(conversationId), store.list()]);
  const out: GuestLine[] = [];
  const seen = new Set<string>();
  for (const r of stored) {
    if (r.direction !== 'Inbound' || r.status === undefined) continue;
    seen.add(r.key);
    out.push(
      r.status === 'sent'
        ? { order: recordOrder(r), serverTime: r.time }
        : { order: recordOrder(r) },
    );
  }
  for (const e of entries) {
    if (e.conversationId === conversationId && !seen.has(e.id)) out.push({ order: orderOf(e) });
  }
  return out;
}

/**
 * `records`, each with an order: the given one; for an Inbound line of an entry still in the
 * outbox, that entry's; otherwise placed among the guest's lines by its `time` (placeAmong).
 */
export async function placeRecords(
  store: OutboxStore,
  records: readonly TranscriptRecord[],
): Promise<TranscriptRecord[]> {
  const lines = new Map<string, Promise<GuestLine[]>>();
  const out: TranscriptRecord[] = [];
  for (const r of records) {
    let order = r.order;
    if (order === undefined) {
      const own = r.direction === 'Inbound' ? await store.get(r.key) : undefined;
      if (own !== undefined) order = orderOf(own);
      else {
        let p = lines.get(r.conversationId);
        if (p === undefined) lines.set(r.conversationId, (p = guestLines(store, r.conversationId)));
        order = placeAmong(await p, r.time);
      }
    }
    out.push({ ...r, order });
  }
  return out;
}
