import type { Coordinator } from '../coordination/Coordinator.js';
import type { Clock } from '../internal/clock.js';
import type { OutboxStore } from '../store/OutboxStore.js';
import type { StoredEntry } from './entry.js';
import type { OutboxEvent } from './events.js';

const same = (a: StoredEntry, b: StoredEntry): boolean =>
  a.status === b.status &&
  a.attempts === b.attempts &&
  a.offlineAttempts === b.offlineAttempts &&
  a.nextAttemptAt === b.nextAttemptAt &&
  a.lastError?.code === b.lastError?.code;

/**
 * `flush()` on a standby (an instance that does not send: another tab holds the Web Lock, another
 * process the SQLite lease). It has asked the sender to look; this waits until the sender has done
 * what the sender's own `flush()` waits for, as far as the store shows it: every entry that was
 * queued at the call is gone (sent, discarded), `failed`, or had an attempt after the call that
 * left it waiting (backoff, rate limit); an entry behind one left waiting is not waited for, nor
 * is a conversation whose head was in backoff at the call and untouched since (a standby's request
 * leaves backoff alone). It also ends when `stop()` says so (this instance became the sender, or
 * closed). Resolves `true` when the caller is the sender now and flushes itself, `false` when
 * it is done (or closed).
 *
 * What it reads: `list()` once at the call, then again at each event this instance hears (the
 * sender's status events: BroadcastChannel in browsers, the SQLite follower in Node) and every
 * `lookMs` (a leadership change, a sender that died: nothing is heard then).
 *
 * Positional arguments: `createOutbox` writes the call in every first load. It is part of the
 * drain loop's chunk (re-exported by dispatcher.ts), which every outbox fetches at start.
 */
export default async function standbyFlush(
  store: OutboxStore,
  subscribe: (listener: (event: OutboxEvent) => void) => () => void,
  coordinator: Pick<Coordinator, 'isLeader' | 'requestWake'>,
  closed: () => boolean,
  clock: Clock,
  lookMs = 500,
): Promise<boolean> {
  coordinator.requestWake();
  await wait(store, subscribe, () => closed() || coordinator.isLeader(), clock, lookMs);
  return !closed() && coordinator.isLeader();
}

async function wait(
  store: OutboxStore,
  subscribe: (listener: (event: OutboxEvent) => void) => () => void,
  stop: () => boolean,
  clock: Clock,
  lookMs: number,
): Promise<void> {
  const at = clock.now();
  const asked = new Map<string, StoredEntry>();
  for (const e of await store.list()) {
    if (e.status === 'pending' || e.status === 'sending') asked.set(e.id, e);
  }
  /** Is anything asked for still to be tried by the sender? */
  const waiting = (entries: StoredEntry[]): boolean => {
    const done = new Set<string>(); // conversations the sender went as far as it will now
    for (const e of entries) {
      const before = asked.get(e.id);
      if (before === undefined || done.has(e.conversationId)) continue;
      if (e.status === 'failed') continue; // settled; it does not hold its conversation
      if (e.status === 'sending') return true; // in flight now
      // pending: the head of its conversation (the ones before it are gone or failed)
      const untouched = same(e, before);
      if (untouched && (e.nextAttemptAt ?? 0) <= at) return true; // due, not tried yet
      done.add(e.conversationId); // tried and left waiting, or in backoff at the call
    }
    return false;
  };
  if (asked.size === 0 || stop()) return;
  await new Promise<void>((resolve, reject) => {
    let looking = false;
    let again = false;
    let timer: unknown;
    const end = (error?: unknown): void => {
      unsubscribe();
      clock.clearTimeout(timer);
      if (error === undefined || stop()) resolve();
      else reject(error);
    };
    const look = async (): Promise<void> => {
      if (looking) {
        again = true;
        return;
      }
      looking = true;
      clock.clearTimeout(timer);
      try {
        do {
          again = false;
          if (stop() || !waiting(await store.list())) {
            end();
            return;
          }
        } while (again);
        timer = clock.setTimeout(() => void look(), lookMs);
      } catch (error: unknown) {
        end(error);
      } finally {
        looking = false;
      }
    };
    // Listening also makes a SQLite standby follow the file (the holder's changes become events).
    const unsubscribe = subscribe(() => void look());
    void look();
  });
}
