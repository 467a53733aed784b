// The outbox's methods that storing a message does not need (whenSettled, retry, discard,
// flush, list, close, wipe): a chunk fetched as soon as the outbox starts (issue 15), outside the
// first load. A call made before it arrived waits for it; see createOutbox.ts.
import type { OutboxError } from '../errors/OutboxError.js';
import type { Clock } from '../internal/clock.js';
import { keepAlive } from '../internal/keepAlive.js';
import type { Coordinator } from '../coordination/Coordinator.js';
import type { OutboxStore } from '../store/OutboxStore.js';
import type { Transport } from '../transport/Transport.js';
import type { Connectivity } from '../connectivity/Connectivity.js';
import type { Dispatcher } from './dispatcher.js';
import type { toPublicEntry } from './entry.js';
import type { OutboxEntry, StoredEntry } from './entry.js';
import type { OutboxEvent } from './events.js';
import type { Outbox } from './createOutbox.js';

/** One caller of `whenSettled`. */
export interface Waiter {
  resolve(entry: OutboxEntry): void;
  reject(error: unknown): void;
}

/** What createOutbox lends these methods. */
export interface MethodsHost {
  store: OutboxStore;
  clock: Clock;
  coordinator: Coordinator;
  /** Entries settled during this run. */
  settled: Map<string, OutboxEntry>;
  waiters: Map<string, Waiter[]>;
  /** A standby's follower, told when waiters come and go. */
  follow: (() => void) | undefined;
  emit(event: OutboxEvent): void;
  requestSend(conversationId?: string): void;
  isClosed(): boolean;
  subscribe: Outbox['subscribe'];
  /** For close() and wipe(). */
  transport: Transport;
  connectivity: Connectivity;
  listeners: Set<(event: OutboxEvent) => void>;
  abort: AbortController;
  name: string;
  defaultConversationId: string;
  /** Marks the outbox closed (send() refuses from now on) and stops listening to connectivity. */
  shut(): void;
  /**
   * Set by these methods: tells the `whenSettled` callers of every event createOutbox delivers
   * (resolved when their entry is sent or failed, rejected when it is discarded).
   */
  settle?: (event: OutboxEvent) => void;
  /** Lent by the first load rather than imported (see `DispatcherHost.lib`). */
  lib: { OutboxError: typeof OutboxError; toPublicEntry: typeof toPublicEntry };
}

export type Methods = Pick<
  Outbox,
  'whenSettled' | 'retry' | 'discard' | 'flush' | 'list' | 'close' | 'wipe'
>;

export function outboxMethods(h: MethodsHost, dispatcher: Dispatcher): Methods {
  const { store, settled, waiters, coordinator, transport } = h;
  const { OutboxError, toPublicEntry } = h.lib;
  h.settle = (event) => {
    if (event.type === 'discarded') {
      // Here or elsewhere (another tab, a SQLite standby's follower): nothing will settle it now.
      for (const w of waiters.get(event.id) ?? [])
        w.reject(new OutboxError('not-found', `entry ${event.id} discarded`));
      waiters.delete(event.id);
    } else if (
      event.type === 'status' &&
      (event.entry.status === 'sent' || event.entry.status === 'failed')
    ) {
      for (const w of waiters.get(event.entry.id) ?? []) w.resolve(event.entry);
      waiters.delete(event.entry.id);
    }
  };
  /** Keeps a Node process alive while someone awaits an answer (rule 12). */
  const hold = keepAlive();
  /** The stored entry; an id that is not a non-empty string is no entry (`retry({})`). */
  const getEntry = (id: unknown): Promise<StoredEntry | undefined> =>
    typeof id === 'string' && id !== '' ? store.get(id) : Promise.resolve(undefined);
  const notFound = (id: unknown): OutboxError =>
    new OutboxError('not-found', `no entry ${String(id)}`);
  /** An entry by id, or `not-found`. */
  const existing = async (id: string): Promise<StoredEntry> => {
    assertOpen();
    const entry = await getEntry(id);
    if (entry === undefined) throw notFound(id);
    return entry;
  };
  const closedError = (): OutboxError => new OutboxError('closed', 'outbox closed');
  /** Throws `closed` once the outbox is closed. */
  const assertOpen = (): void => {
    if (h.isClosed()) throw closedError();
  };
  /** Set by the first close() or wipe(): every later caller gets this promise. */
  let closing: Promise<void> | undefined;
  /**
   * close(), and wipe() with its two extra steps: `forget` before the transport closes, `finish`
   * instead of closing the store.
   */
  const shutDown = async (
    forget?: () => Promise<void> | undefined,
    finish = () => store.close(),
  ): Promise<void> => {
    h.shut();
    dispatcher.stop();
    if (forget) {
      h.emit({ type: 'wiped' }); // the other tabs close now
      await forget();
    }
    h.abort.abort(closedError());
    await dispatcher.idle();
    await coordinator.close();
    await transport.close?.();
    h.connectivity.close?.();
    await finish();
    for (const list of waiters.values()) for (const w of list) w.reject(closedError());
    waiters.clear();
    h.listeners.clear();
    h.follow?.(); // nobody waits or listens now: it stops
  };
  return {
    close: () => (closing ??= shutDown()),

    async wipe() {
      assertOpen();
      const { wipeLocal } = await import('./wipe.js');
      assertOpen();
      return (closing ??= shutDown(
        () => transport.wipe?.(),
        () => wipeLocal(store, h.name, [h.defaultConversationId]),
      ));
    },

    async list() {
      assertOpen();
      return (await store.list()).map(toPublicEntry);
    },

    async whenSettled(id) {
      assertOpen();
      const done = settled.get(id);
      if (done !== undefined) return done;
      const stored = await getEntry(id);
      const settledMeanwhile = settled.get(id);
      if (settledMeanwhile !== undefined) return settledMeanwhile;
      if (stored === undefined) throw notFound(id);
      if (stored.status === 'failed') return toPublicEntry(stored);
      const release = hold(); // rule 12: the process waits for this answer
      return new Promise<OutboxEntry>((resolve, reject) => {
        const list = waiters.get(id) ?? [];
        list.push({ resolve, reject });
        waiters.set(id, list);
        h.follow?.(); // a standby: what it waits for is settled by another process
      }).finally(() => {
        release();
        h.follow?.();
      });
    },

    async retry(id) {
      const entry = await existing(id);
      if (entry.status !== 'failed') {
        throw new OutboxError('invalid-state', `entry is ${entry.status}, not failed`);
      }
      const next: StoredEntry = {
        ...entry,
        status: 'pending',
        attempts: 0,
        offlineAttempts: 0,
        retriedAt: h.clock.now(),
      };
      delete next.nextAttemptAt;
      const saved = await store.update(next, { requeue: true });
      settled.delete(id);
      h.emit({ type: 'status', entry: toPublicEntry(saved) });
      h.requestSend(saved.conversationId);
    },

    async discard(id) {
      const entry = await existing(id);
      await store.remove(id);
      // Its conversation may have a new head (read again, not the whole store).
      if (coordinator.isLeader()) dispatcher.wakeFor(entry.conversationId);
      h.emit({ type: 'discarded', id, conversationId: entry.conversationId });
    },

    async flush() {
      assertOpen();
      const release = hold();
      try {
        // A standby waits until the sender tried what was queued (or this one sends now).
        if (
          !coordinator.isLeader() &&
          !(await (
            await import('./dispatcher.js')
          ).default(store, h.subscribe, coordinator, h.isClosed, h.clock))
        )
          return;
        dispatcher.wake('flush');
        await dispatcher.idle();
      } finally {
        release();
      }
    },
  };
}
