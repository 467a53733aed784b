import type { OutboxStore } from '../store/OutboxStore.js';
import type { StoredEntry } from './entry.js';

/** [due time, entry]: ordered by due time, then seq. */
type Item = [number, StoredEntry];

/**
 * The heads the sender knows, kept in memory so that a pass costs the same whatever the number
 * of waiting conversations: one head per conversation, a binary heap of them by due time, and a
 * lower bound of their expiry times (the heads are scanned only once that bound has passed:
 * something expired, or the head that set it left; the scan sets the exact bound again). The
 * store is read whole only when asked (`reloadAll`: start, leadership, an explicit wake), and
 * otherwise one conversation at a time (`touch`, then `headOf`): after an attempt settled, or
 * when an entry of that conversation was stored or discarded. Heap items are deleted lazily: an
 * item counts only while its entry is still the book's head of its conversation.
 */
export interface HeadBook {
  reloadAll(): void;
  /** This conversation's head may have changed: read it before the next pass. */
  touch(conversationId: string): void;
  /** Brings the book up to date; conversations in flight are left out (their settling touches them). */
  sync(inFlight: ReadonlyMap<string, unknown>): Promise<void>;
  /** Every known head, by seq (for the passes that treat every head as due). */
  all(): StoredEntry[];
  /** Expired heads, then heads due by `now` while `canStart()`; stops at the first one left alone. */
  due(now: number, canStart: () => boolean): Generator<StoredEntry>;
  /** An attempt started for this head: it leaves the book until its conversation is touched. */
  take(entry: StoredEntry): void;
  /**
   * When to look again for the heads a pass left alone (the earliest future due time, pushed
   * back to `pausedUntil`, only when online; a lower bound of the earliest expiry), and whether a
   * head is due but found no slot.
   */
  next(now: number, online: boolean, pausedUntil: number): [at: number, starved: boolean];
}

export function createHeadBook(
  store: OutboxStore & Required<Pick<OutboxStore, 'headOf'>>,
  expiresAt: (e: StoredEntry) => number,
): HeadBook {
  const heads = new Map<string, StoredEntry>();
  const stale = new Set<string>();
  const touchedAt = new Map<string, number>();
  let version = 0;
  /** Whole reads asked for / done (a failed read stays asked for). */
  let reloadAsked = 1;
  let reloadDone = 0;
  let heap: Item[] = [];
  let minExpiry = Infinity;

  const before = (i: number, j: number): boolean => {
    const a = heap[i] as Item;
    const b = heap[j] as Item;
    return a[0] < b[0] || (a[0] === b[0] && a[1].seq < b[1].seq);
  };
  const swap = (i: number, j: number): void => {
    [heap[i], heap[j]] = [heap[j] as Item, heap[i] as Item];
  };
  const top = (): Item | undefined => {
    // Drop dead items (no longer their conversation's head) from the top.
    while (heap.length > 0 && heads.get((heap[0] as Item)[1].conversationId) !== heap[0]![1]) {
      const last = heap.pop() as Item;
      if (heap.length === 0) break;
      heap[0] = last;
      for (let i = 0; ;) {
        let m = i;
        for (const c of [2 * i + 1, 2 * i + 2]) if (c < heap.length && before(c, m)) m = c;
        if (m === i) break;
        swap(i, m);
        i = m;
      }
    }
    return heap[0];
  };
  const set = (e: StoredEntry): void => {
    heads.set(e.conversationId, e);
    minExpiry = Math.min(minExpiry, expiresAt(e));
    let i = heap.push([e.nextAttemptAt ?? 0, e]) - 1;
    while (i > 0 && before(i, (i - 1) >> 1)) {
      swap(i, (i - 1) >> 1);
      i = (i - 1) >> 1;
    }
  };
  const rebuild = (entries: StoredEntry[]): void => {
    heads.clear();
    heap = [];
    minExpiry = Infinity;
    for (const e of entries) set(e);
  };

  return {
    reloadAll() {
      reloadAsked++;
    },
    touch(c) {
      heads.delete(c);
      stale.add(c);
      touchedAt.set(c, ++version);
    },
    async sync(inFlight) {
      if (reloadAsked !== reloadDone) {
        const asked = reloadAsked;
        const start = version;
        const list = await store.heads();
        reloadDone = asked;
        rebuild(
          list.filter(
            (e) =>
              !inFlight.has(e.conversationId) && (touchedAt.get(e.conversationId) ?? 0) <= start,
          ),
        );
      }
      for (const c of [...stale]) {
        if (inFlight.has(c)) {
          stale.delete(c); // its settling touches it again
          continue;
        }
        const v = touchedAt.get(c);
        const head = await store.headOf(c); // a failed read leaves it stale
        if (touchedAt.get(c) !== v) continue; // touched again meanwhile: still stale
        stale.delete(c);
        touchedAt.delete(c);
        if (head !== undefined && !inFlight.has(c)) set(head);
      }
      // Lazy deletion leaves dead items behind: compact once they outnumber the live ones.
      if (heap.length > 2 * heads.size + 64) rebuild([...heads.values()]);
    },
    all: () => [...heads.values()].sort((a, b) => a.seq - b.seq),
    *due(now, canStart) {
      if (minExpiry <= now) {
        let m = Infinity; // the new bound, kept only if the scan ran to its end
        for (const e of [...heads.values()]) {
          const at = expiresAt(e);
          if (at > now) m = Math.min(m, at);
          else if (heads.get(e.conversationId) === e) yield e;
        }
        minExpiry = m;
      }
      for (;;) {
        const x = top();
        if (x === undefined || x[0] > now || !canStart()) return;
        yield x[1];
        if (top() === x) return; // the pass left it alone: nothing after it can start either
      }
    },
    take(e) {
      if (heads.get(e.conversationId) === e) heads.delete(e.conversationId);
    },
    next(now, online, pausedUntil) {
      const ready = top()?.[0];
      if (!online || ready === undefined) return [minExpiry, false];
      const at = Math.max(ready, pausedUntil);
      return at > now ? [Math.min(minExpiry, at), false] : [minExpiry, true];
    },
  };
}
