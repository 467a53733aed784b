import type { OutboxStore } from '../store/OutboxStore.js';
import type { Logger } from '../internal/logger.js';
import type { OutboxEntry, StoredEntry } from './entry.js';
import type { OutboxEvent } from './events.js';

/**
 * Tells the follower of an event this instance delivered itself (its picture stays current), or,
 * without an argument, to start or stop following as `wanted()` says now.
 */
export type Follower = (event?: OutboxEvent) => void;

const same = (a: OutboxEntry, b: OutboxEntry): boolean =>
  a.status === b.status &&
  a.attempts === b.attempts &&
  a.nextAttemptAt === b.nextAttemptAt &&
  a.lastError?.code === b.lastError?.code &&
  a.lastError?.message === b.lastError?.message;

/**
 * A standby's view of what the sender does in another process (SQLite: the lease holder sends
 * what every process stored, and its status events stay in its own process). While `wanted()`
 * (someone here waits or listens, and this instance does not send) the store tells of other
 * processes' commits (`store.follow`), and each is read back as the events the sender emitted:
 * new and changed entries as status events; an entry that left the store as `sent` when its
 * transcript line says so, else as `discarded` (which rejects its waiters). An entry someone
 * waits for (a key of `waiting`) that is no longer stored when following begins is looked up the same
 * way, at every look. An outbox nobody waits on or listens to does not follow: it costs nothing.
 *
 * Positional arguments and one function as the result: this module is a lazy chunk, and what
 * `createOutbox` writes to use it is in every first load. `toPublic` is handed in so that this
 * module imports nothing at run time (a shared import would become an extra chunk).
 */
export default function storeFollower(
  store: OutboxStore,
  wanted: () => unknown,
  waiting: ReadonlyMap<string, unknown>,
  deliver: (event: OutboxEvent) => void,
  toPublic: (entry: StoredEntry) => OutboxEntry,
  logger: Logger,
): Follower {
  /** The entries as this instance last knew them (only while following). */
  let known: Map<string, OutboxEntry> | undefined;
  let unfollow: (() => void) | undefined;
  let again = false;
  let syncing: Promise<void> | undefined;

  /** What left the store: delivered (its transcript line says sent) or discarded. */
  const ended = async (id: string, old: OutboxEntry | undefined): Promise<void> => {
    const line = await store.getTranscript(id);
    if (line?.direction === 'Inbound' && line.status === 'sent') {
      // As the sender's own event: one more attempt than this instance saw.
      const entry: OutboxEntry =
        old === undefined
          ? {
              id,
              conversationId: line.conversationId,
              text: line.text,
              status: 'sent',
              attempts: 1,
              createdAt: line.time,
            }
          : { ...old, status: 'sent', attempts: old.attempts + 1 };
      deliver({ type: 'status', entry });
    } else {
      deliver({
        type: 'discarded',
        id,
        conversationId: old?.conversationId ?? line?.conversationId ?? '',
      });
    }
  };

  const sync = (first: boolean): void => {
    if (syncing) {
      again = true;
      return;
    }
    syncing = (async () => {
      do {
        again = false;
        const before = known;
        if (before === undefined) return;
        const entries = (await store.list()).map(toPublic);
        if (known !== before) return; // stopped (or restarted) meanwhile
        const now = new Set<string>();
        for (const e of entries) {
          now.add(e.id);
          const old = before.get(e.id);
          before.set(e.id, e);
          if (old === undefined ? !first : !same(old, e)) deliver({ type: 'status', entry: e });
        }
        const gone = [...before.keys()].filter((id) => !now.has(id));
        // Waited for, and gone before this instance ever saw it in the store.
        for (const id of waiting.keys()) if (!now.has(id) && !before.has(id)) gone.push(id);
        for (const id of gone) {
          const old = before.get(id);
          before.delete(id);
          await ended(id, old);
        }
        first = false;
      } while (again && known !== undefined);
    })()
      .catch((e: unknown) => logger.warn('follow: store read failed', { error: String(e) }))
      .finally(() => {
        syncing = undefined;
        refresh(false);
      });
  };

  /** Starts or stops following as `wanted()` says; `look`: while following, look again now. */
  const refresh = (look: boolean): void => {
    const want = wanted();
    if (want && unfollow === undefined) {
      known = new Map();
      unfollow = store.follow?.(() => sync(false));
      sync(true);
    } else if (want) {
      // A new waiter or listener: look now (what it waits for may be gone already).
      if (look) sync(false);
    } else if (unfollow !== undefined) {
      unfollow();
      unfollow = undefined;
      known = undefined;
    }
  };

  const follower: Follower = (event) => {
    if (event !== undefined) {
      if (known === undefined) return;
      if (event.type === 'discarded') known.delete(event.id);
      else if (event.type === 'status') {
        if (event.entry.status === 'sent') known.delete(event.entry.id);
        else known.set(event.entry.id, event.entry);
      }
      return;
    }
    refresh(true);
  };
  return follower;
}
