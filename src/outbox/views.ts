// Live, framework-neutral views of an outbox for UIs: `{ getSnapshot(), subscribe(onChange) }`,
// the shape React's useSyncExternalStore takes (genesys-webmessaging-outbox/react), and that a
// Vue `shallowRef` or a Svelte `readable` wraps in a few lines (docs/ui-state.md).
//
// A snapshot is an immutable array, replaced only when what it shows changed: the same reference
// between changes (no tearing, no re-render loops), and rows that did not change keep their object
// (memoised rows stay put). Changes are read back from the outbox (list / transcript.list), one
// read at a time, started after the task that brought the event: a burst of events is one read,
// and events that arrive while a read runs are folded into one more read, so a drain gives a
// snapshot per step the UI could show, not one per event. Nothing is read or
// subscribed while no one listens: an idle view costs nothing.
import type { TranscriptRecord } from '../store/OutboxStore.js';
import type { OutboxEntry } from './entry.js';
import type { OutboxEvent } from './events.js';

/** A value that changes over time: read it with `getSnapshot()`, hear of changes with `subscribe()`. */
export interface ExternalStore<T> {
  /** The current value; the same reference until it changes. */
  getSnapshot(): T;
  /** `onChange` runs (with no arguments) after each change of the snapshot; returns the unsubscribe function. */
  subscribe(onChange: () => void): () => void;
}

/** What the views need of an outbox (an `Outbox` has all of it). */
export interface ViewableOutbox {
  list(): Promise<OutboxEntry[]>;
  subscribe(listener: (event: OutboxEvent) => void): () => void;
  readonly transcript: {
    list(conversationId?: string): Promise<TranscriptRecord[]>;
  };
  /** The outbox's view of the network (see `Outbox.online`). */
  readonly online: boolean;
}

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * A snapshot store fed by reads: `read()` runs when the first listener subscribes and again after
 * every event `affects` says is relevant (one read at a time, coalesced). `sameRow` decides whether
 * a row of the new read is unchanged (then the old object is kept).
 */
function readStore<T extends object>(
  outbox: ViewableOutbox,
  read: () => Promise<readonly T[]>,
  affects: (event: OutboxEvent) => boolean,
  rowKey: (row: T) => string,
  rowState: (row: T) => string,
): ExternalStore<readonly T[]> {
  let snapshot: readonly T[] = EMPTY;
  const listeners = new Set<() => void>();
  let unsubscribeOutbox: (() => void) | undefined;
  let reading = false;
  let again = false;

  const publish = (rows: readonly T[]): void => {
    const before = new Map(snapshot.map((r) => [rowKey(r), r]));
    let changed = rows.length !== snapshot.length;
    const next = rows.map((row, i) => {
      const old = before.get(rowKey(row));
      const keep = old !== undefined && rowState(old) === rowState(row);
      if (!keep || snapshot[i] !== old) changed = true;
      return keep ? old : Object.freeze(row);
    });
    if (!changed) return;
    snapshot = Object.freeze(next);
    for (const l of [...listeners]) l();
  };

  let scheduled = false;
  const refresh = (): void => {
    if (scheduled) return; // the read to come sees this change too
    if (reading) {
      again = true;
      return;
    }
    scheduled = true;
    // After the current task: a burst of events (a group commit, a drain step) is one read.
    setTimeout(() => {
      scheduled = false;
      reading = true;
      again = false;
      const done = (): void => {
        reading = false;
        if (again && unsubscribeOutbox !== undefined) refresh();
      };
      read().then(
        (rows) => {
          if (unsubscribeOutbox !== undefined) publish(rows);
          done();
        },
        // A closed outbox (or a store failure, which the outbox reports itself): keep the last
        // snapshot; the next event reads again.
        done,
      );
    }, 0);
  };

  return {
    getSnapshot: () => snapshot,
    subscribe(onChange) {
      listeners.add(onChange);
      if (unsubscribeOutbox === undefined) {
        unsubscribeOutbox = outbox.subscribe((event) => {
          if (affects(event)) refresh();
        });
        refresh(); // events missed while no one listened
      }
      return () => {
        listeners.delete(onChange);
        if (listeners.size === 0 && unsubscribeOutbox !== undefined) {
          unsubscribeOutbox();
          unsubscribeOutbox = undefined;
        }
      };
    },
  };
}

const cache = new WeakMap<object, Map<string, ExternalStore<unknown>>>();

function cached<T>(
  outbox: ViewableOutbox,
  key: string,
  make: () => ExternalStore<T>,
): ExternalStore<T> {
  let byKey = cache.get(outbox);
  if (byKey === undefined) cache.set(outbox, (byKey = new Map()));
  let store = byKey.get(key) as ExternalStore<T> | undefined;
  if (store === undefined) byKey.set(key, (store = make()));
  return store;
}

const entryState = (e: OutboxEntry): string =>
  `${e.status}|${e.attempts}|${e.nextAttemptAt ?? ''}|${e.lastError?.code ?? ''}|${e.lastError?.status ?? ''}|${e.lastError?.message ?? ''}`;

const lineState = (r: TranscriptRecord): string =>
  `${r.status ?? ''}|${r.time}|${r.serverId ?? ''}|${r.text}|${r.event ?? ''}|${r.originatingEntity ?? ''}`;

/**
 * The outbox's pending, sending and failed entries, oldest first (what `outbox.list()` returns),
 * kept up to date. One store per outbox: every caller shares its snapshot and its reads.
 *
 * @example
 * const entries = outboxEntries(outbox);
 * const stop = entries.subscribe(() => render(entries.getSnapshot()));
 */
export function outboxEntries(outbox: ViewableOutbox): ExternalStore<readonly OutboxEntry[]> {
  return cached(outbox, 'entries', () =>
    readStore(
      outbox,
      () => outbox.list(),
      (e) => e.type === 'status' || e.type === 'discarded',
      (e) => e.id,
      entryState,
    ),
  );
}

/**
 * A conversation's transcript (what `outbox.transcript.list(conversationId)` returns: delivered
 * lines and the guest's messages still in the outbox), kept up to date. Without
 * `conversationId`, the outbox's default conversation.
 */
export function outboxTranscript(
  outbox: ViewableOutbox,
  conversationId?: string,
): ExternalStore<readonly TranscriptRecord[]> {
  const concerns = (id: string): boolean => conversationId === undefined || id === conversationId;
  return cached(outbox, `transcript:${conversationId ?? ''}`, () =>
    readStore(
      outbox,
      () => outbox.transcript.list(conversationId),
      (e) =>
        (e.type === 'transcript' && concerns(e.record.conversationId)) ||
        (e.type === 'status' && concerns(e.entry.conversationId)) ||
        (e.type === 'discarded' && concerns(e.conversationId)),
      (r) => r.key,
      lineState,
    ),
  );
}

/** Whether the outbox thinks the network is there (`outbox.online`), kept up to date. */
export function outboxConnectivity(outbox: ViewableOutbox): ExternalStore<boolean> {
  return cached(outbox, 'connectivity', () => ({
    getSnapshot: () => outbox.online,
    subscribe: (onChange) =>
      outbox.subscribe((e) => {
        if (e.type === 'connectivity') onChange();
      }),
  }));
}
