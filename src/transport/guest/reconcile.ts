import type { GuestMessage } from './frames.js';

/** A local entry whose delivery is in doubt. */
export interface InDoubtEntry {
  id: string;
  text: string;
  /** Epoch ms (local clock) when the entry was committed. */
  createdAt: number;
}

export interface MatchOptions {
  /** Server ids already attributed to other local entries (e.g. from their echo): never matched again. */
  claimed: ReadonlySet<string>;
  /** Tolerated difference between the local clock and Genesys' clock, ms. */
  skewMs: number;
  /** Local epoch ms now. */
  now: number;
}

/**
 * Decides which in-doubt entries already reached Genesys, from conversation history (pure).
 *
 * A history message `h` can match entry `e` when all hold:
 * 1. `h.direction` is `Inbound` (sent by the guest), `h.type` is `Text` (history also holds
 *    `Event` and `Structured` entries, which may carry text) and `h.id` is not empty;
 * 2. `h.text === e.text` exactly (no trimming, no case folding);
 * 3. `e.createdAt - skewMs <= h.time <= now + skewMs` (a message cannot reach the server before
 *    it was written; `skewMs` absorbs clock differences);
 * 4. `h.id` is not in `claimed` and not already matched to another entry in this call.
 *
 * Entries are taken oldest first (`createdAt`, then input order) and each takes the oldest
 * (`time`, then oldest-in-page order) candidate still free, so identical texts map one to one in
 * order. When fewer copies are found than entries are in doubt, the earliest entries count as
 * delivered and the rest are not matched (they will be resent).
 *
 * @returns entry id → matched history message, for the entries found.
 */
export function matchInDoubt(
  entries: readonly InDoubtEntry[],
  history: readonly GuestMessage[],
  options: MatchOptions,
): Map<string, GuestMessage> {
  // History pages are newest first; reverse so equal times keep oldest-first order, then sort stably.
  const candidates = history
    .filter(
      (h) =>
        h.direction === 'Inbound' &&
        h.type === 'Text' &&
        h.id !== '' &&
        !options.claimed.has(h.id) &&
        Number.isFinite(h.time),
    )
    .reverse()
    .sort((a, b) => a.time - b.time);
  const used = new Set<string>();
  const out = new Map<string, GuestMessage>();
  const ordered = entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.createdAt - b.e.createdAt || a.i - b.i);
  for (const { e } of ordered) {
    const h = candidates.find(
      (c) =>
        !used.has(c.id) &&
        c.text === e.text &&
        c.time >= e.createdAt - options.skewMs &&
        c.time <= options.now + options.skewMs,
    );
    if (h !== undefined) {
      used.add(h.id);
      out.set(e.id, h);
    }
  }
  return out;
}
