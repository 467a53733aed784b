import type { ErrorInfo, isOutboxError } from '../errors/OutboxError.js';
import type { Clock, TimerHandle } from '../internal/clock.js';
import type { Logger } from '../internal/logger.js';
import { backoffDelay } from '../retry/backoff.js';
import type { ResolvedRetryOptions } from '../retry/options.js';
import type { OutboxStore, TranscriptRecord } from '../store/OutboxStore.js';
import type { SendOutcome, Transport } from '../transport/Transport.js';
import type { orderOf, toPublicEntry } from './entry.js';
import type { HeadBook } from './headBook.js';
import type { StoredEntry } from './entry.js';
import type { OutboxEvent } from './events.js';
import type { Connectivity } from '../connectivity/Connectivity.js';
import type { Coordinator } from '../coordination/Coordinator.js';

/** What the dispatcher needs from the outbox around it. */
export interface DispatcherHost {
  store: OutboxStore;
  transport: Transport;
  clock: Clock;
  random: () => number;
  retry: ResolvedRetryOptions;
  logger: Logger;
  concurrency: number;
  /** Aborted when the outbox closes (its signal goes to every attempt). */
  abort: AbortController;
  /** The outbox is closed: nothing more is sent. */
  isClosed(): boolean;
  /** The outbox's connectivity (asked whether it is online). */
  connectivity: Connectivity;
  /** Tells this instance's listeners and waiters (not the other tabs). */
  deliver(event: OutboxEvent): void;
  /** Tells this instance's listeners and waiters, and the other tabs. */
  emit(event: OutboxEvent): void;
  /** Publishes events to the other instances (tabs). */
  coordinator: Coordinator;
  /**
   * Writes transcript lines and removes the delivered entry `removeEntry` with them (one write
   * where the store can); `undefined` when the outbox keeps no transcript.
   */
  record:
    ((records: readonly TranscriptRecord[], removeEntry: string) => Promise<void>) | undefined;
  /**
   * Helpers of the first load, lent rather than imported: a module that the first load and this
   * chunk both import is a file of its own in the user's build, gzipped apart (issue 15).
   */
  lib: {
    isOutboxError: typeof isOutboxError;
    toPublicEntry: typeof toPublicEntry;
    orderOf: typeof orderOf;
  };
}

/** Shortest wait after a rate limit, whatever `Retry-After` said (0, a past date). */
export const MIN_RATE_LIMIT_WAIT_MS = 1000;

/** Waiting conversations above which the dispatcher keeps their heads in memory (headBook.ts). */
export const BOOK_AFTER = 32;

/** A due head that a claim skipped (another worker held its row for a moment): look again after this. */
const CLAIM_RETRY_MS = 100;

/** Codes of errors after which the server may have the message although we never heard back. */
const IN_DOUBT_LIST = ['in-doubt', 'timeout'];
const IN_DOUBT_CODES = new Set(IN_DOUBT_LIST);

/** The drain loop as the outbox drives it. */
export interface Dispatcher {
  /** Look at the store now. `mode`: 'flush' = ignore backoff; 'online' = retry entries that waited for the network. */
  wake(mode?: 'normal' | 'flush' | 'online'): void;
  /**
   * A new entry of this conversation was stored: look now if it could start. Not when its
   * conversation has one in flight (that attempt's settling looks anyway); when only a slot is
   * missing, the next freed slot looks.
   */
  wakeFor(conversationId: string): void;
  /** Resolves when no pass is running and every attempt started so far has settled. */
  idle(): Promise<void>;
  stop(): void;
}

/**
 * The drain loop. A pass looks at the head of every conversation, expires what is too old, starts
 * attempts for due heads up to the concurrency limit and arms ONE timer for the earliest future
 * event. Nothing polls: an empty outbox arms no timer. With a store that has `headOf` and more
 * than BOOK_AFTER waiting conversations, the heads live in memory (see headBook.ts): a pass looks
 * only at the heads that are due, and the store is
 * read whole only on `wake()`, else one conversation at a time (the one that settled or got a new
 * entry), so a delivery costs the same with 4 or 10,000 waiting conversations. Without `headOf`,
 * every pass reads `heads()`.
 */
export function createDispatcher(host: DispatcherHost): Dispatcher {
  const { isOutboxError, toPublicEntry, orderOf } = host.lib;
  const codeOf = (error: unknown): string => (isOutboxError(error) ? error.code : 'unknown');
  const { store, clock, logger, retry, coordinator, connectivity } = host;
  const signal = host.abort.signal;
  /** May this instance send now? (leader, not closed) */
  const canSend = (): boolean => !host.isClosed() && coordinator.isLeader();
  /** A stored entry changed status, or was delivered (status 'sent'). */
  const changed = (entry: StoredEntry): void => {
    const event: OutboxEvent = { type: 'status', entry: toPublicEntry(entry) };
    // 'sent' was already told to the other tabs (see `delivered`); here only to this one.
    if (entry.status === 'sent') host.deliver(event);
    else host.emit(event);
  };
  const expiresAt = (head: StoredEntry): number =>
    (head.retriedAt ?? head.createdAt) + retry.maxAgeMs;
  /** The heads in memory, once a pass found more than BOOK_AFTER conversations waiting. */
  let book: HeadBook | undefined;
  let bookLoading = false;
  const inFlight = new Map<string, Promise<void>>();
  /**
   * Attempts that hold a transport slot: from the start until the transport answered. Recording
   * the outcome no longer holds one, so another conversation's message can go out meanwhile
   * (its own conversation stays in `inFlight` until then, which keeps the order).
   */
  let onWire = 0;
  /** The last pass left a due head waiting because every slot was taken. */
  let starved = false;
  let timer: TimerHandle | undefined;
  let timerAt = Infinity;
  let pumping: Promise<void> | undefined;
  let again = false;
  /** Until when the whole transport is paused by a rate limit (Retry-After applies to the client). */
  let pausedUntil = 0;
  /** Next pass treats every head as due (flush) / heads waiting on the network as due (online). */
  let forceAll = false;
  let forceOffline = false;
  /** Entries whose last outcome was re-auth: the next one backs off instead of retrying at once. */
  const reauthOnce = new Set<string>();
  let storageFailures = 0;

  function wake(mode: 'normal' | 'flush' | 'online' = 'normal'): void {
    if (mode === 'flush') forceAll = true;
    if (mode === 'online') forceOffline = true;
    book?.reloadAll();
    kick();
  }

  /** A pass with what the dispatcher already knows (no full read of the store). */
  function kick(): void {
    if (pumping !== undefined) {
      again = true;
      return;
    }
    pumping = pump();
  }

  async function pump(): Promise<void> {
    try {
      do {
        again = false;
        await pass();
      } while (again && !signal.aborted);
      storageFailures = 0;
    } catch (error: unknown) {
      // A storage failure must never kill the loop (the tutorial's scheduler died this way).
      storageFailures++;
      const delay = backoffDelay(
        Math.min(storageFailures, 10),
        { baseDelayMs: 500, maxDelayMs: 30_000 },
        () => 1,
      );
      logger.error('drain failed', { code: codeOf(error), retryInMs: delay });
      arm(clock.now() + delay);
    } finally {
      pumping = undefined;
    }
  }

  async function pass(): Promise<void> {
    if (signal.aborted || !canSend()) return;
    // Every slot busy: nothing could start, and the next answer from the transport wakes us.
    if (onWire >= host.concurrency) {
      starved = true;
      return;
    }
    starved = false;
    if (book) await book.sync(inFlight);
    const now = clock.now();
    const all = forceAll;
    const offline = forceOffline;
    forceAll = false;
    forceOffline = false;
    const online = connectivity.isOnline() || all;
    let earliest = Infinity;
    let claimed: StoredEntry[] | undefined;
    const heads: Iterable<StoredEntry> = store.claimDue
      ? (claimed = await claim(now, all, online))
      : !book
        ? await store.heads()
        : all || offline
          ? book.all()
          : book.due(now, () => online && onWire < host.concurrency && pausedUntil <= now);
    if (
      !book &&
      !bookLoading &&
      !claimed &&
      store.headOf &&
      (heads as StoredEntry[]).length > BOOK_AFTER
    ) {
      // Many conversations (a server): from now on keep the heads in memory. Loaded on demand,
      // so a browser with a few conversations never downloads it.
      bookLoading = true;
      void import('./headBook.js').then((m) => {
        book = m.createHeadBook(store as Parameters<typeof m.createHeadBook>[0], expiresAt);
        kick();
      });
    }

    /** Claimed heads of conversations whose previous entry's attempt has not settled here yet. */
    const behind: string[] = [];
    for (const head of heads) {
      if (signal.aborted || !canSend()) return;
      if (inFlight.has(head.conversationId)) {
        if (claimed) behind.push(head.conversationId);
        continue;
      }
      const expiry = expiresAt(head);
      if (expiry <= now) {
        const last = head.lastError === undefined ? '' : `; last: ${head.lastError.code}`;
        const message = `older than retry.maxAgeMs (${retry.maxAgeMs} ms)${last}`;
        await fail(head, { code: 'expired', message }, head.attempts);
        book?.touch(head.conversationId);
        again = true; // the next entry of this conversation is now its head
        continue;
      }
      earliest = Math.min(earliest, expiry);
      const waitingForNetwork = (head.offlineAttempts ?? 0) > 0;
      const dueAt = Math.max(
        all || (offline && waitingForNetwork) ? now : (head.nextAttemptAt ?? now),
        pausedUntil,
      );
      if (dueAt > now || !online || onWire >= host.concurrency) {
        // Offline: do not arm a timer for it; coming online wakes us. Full: a freed slot wakes us.
        if (dueAt > now && online) earliest = Math.min(earliest, dueAt);
        else if (online) starved = true;
        continue;
      }
      onWire++;
      book?.take(head);
      const p = attempt(head)
        .catch((error: unknown) => {
          logger.error('attempt failed', { id: head.id, code: codeOf(error) });
        })
        .finally(() => {
          inFlight.delete(head.conversationId);
          book?.touch(head.conversationId);
          kick();
        });
      inFlight.set(head.conversationId, p);
    }
    if (claimed) {
      // Claimed but not started (closing, or left for later): give them back now rather than at
      // the lease's end. A conversation in flight here is ours already.
      for (const h of claimed) {
        if (!inFlight.has(h.conversationId)) {
          void store.releaseClaim?.(h.conversationId).catch((error: unknown) => {
            logger.warn('release failed', { code: codeOf(error) });
          });
        }
      }
      // The store answered the next head of a conversation whose attempt had written its verdict
      // but not yet settled here: it is claimed by us and would stay so until the lease ends (no
      // later claim answers it). Give it back once that attempt settles, then claim again.
      for (const c of behind) {
        void inFlight.get(c)?.finally(() =>
          store.releaseClaim?.(c).then(kick, (error: unknown) => {
            logger.warn('release failed', { code: codeOf(error) });
          }),
        );
      }
      earliest = Math.min(earliest, claimNext);
    }
    if (book) {
      // What the pass did not look at: heads not due yet, or due but without a slot.
      const [at, waiting] = book.next(now, online, pausedUntil);
      earliest = Math.min(earliest, at);
      starved ||= waiting;
    }
    arm(earliest);
  }

  /** When to claim again (the store's next due head, a rate-limit pause, a short retry). */
  let claimNext = Infinity;
  /** Heads the last claim already stored as their attempt's start: id → the claim's `now`. */
  const claimedSending = new Map<string, number>();

  /**
   * Claims due heads for the free slots from a store that several processes share. What is due
   * but was not claimed now (every slot taken, or rows another worker was locking) is looked at
   * when a slot frees, or shortly.
   */
  async function claim(now: number, all: boolean, online: boolean): Promise<StoredEntry[]> {
    claimNext = Infinity;
    if (!online) return []; // coming online wakes us
    if (pausedUntil > now) {
      claimNext = pausedUntil;
      return [];
    }
    const limit = host.concurrency - onWire;
    // Attempts read their mark before their first await: what is left is of heads not started.
    claimedSending.clear();
    const { entries, nextDueAt, sending } = await (
      store.claimDue as NonNullable<OutboxStore['claimDue']>
    )({ limit, now, all, sending: { inDoubtCodes: IN_DOUBT_LIST } });
    if (sending === true) for (const e of entries) claimedSending.set(e.id, now);
    if (nextDueAt !== undefined) {
      if (nextDueAt > now) claimNext = nextDueAt;
      else if (entries.length >= limit) starved = true;
      else claimNext = now + CLAIM_RETRY_MS;
    }
    return entries;
  }

  /** One attempt; it took a transport slot (`onWire`) when it was started and gives it back once. */
  async function attempt(head: StoredEntry): Promise<void> {
    let holding = true;
    const release = (): void => {
      if (!holding) return;
      holding = false;
      onWire--;
      // A slot is free: wake only if a due head was left waiting for one. Otherwise the settling
      // attempt's own wake (when its conversation is free again) is the next pass.
      if (starved) kick();
    };
    try {
      // In doubt since when (see StoredEntry.inDoubtSince). A head found 'sending' that we did
      // not start was in flight when the last run stopped; entries stored by older versions carry
      // no field, only that status or an in-doubt error.
      const since =
        typeof head.inDoubtSince === 'number'
          ? head.inDoubtSince
          : head.status === 'sending' ||
              (head.lastError !== undefined && IN_DOUBT_CODES.has(head.lastError.code))
            ? head.createdAt
            : undefined;
      // Persist 'sending' and the in-doubt mark before the attempt: after a crash we know it may
      // have gone out (and since when), whatever the transport managed to say. A claim that
      // stored exactly this already (ClaimOptions.sending) needs no second write.
      const claimedAt = claimedSending.get(head.id);
      claimedSending.delete(head.id);
      const start: StoredEntry = {
        ...head,
        status: 'sending',
        inDoubtSince: since ?? claimedAt ?? clock.now(),
      };
      const entry = claimedAt === undefined ? await save(start) : start;
      // Discarded meanwhile, or the lease was lost (the store refused the write); or it lapsed
      // while the write waited (a stalled process): the new holder sends it, never both.
      if (entry === undefined || !canSend()) return;
      changed(entry);

      let outcome: SendOutcome;
      try {
        outcome = await host.transport.send(toPublicEntry(entry), {
          signal,
          attempt: entry.attempts + 1,
          inDoubt: since !== undefined,
          inDoubtSince: since,
        });
      } catch (error: unknown) {
        // A transport must return outcomes; a throw is a bug or an unexpected failure. It is
        // retried with backoff and counts as an attempt, so it ends at maxAttempts, never loops forever.
        outcome = {
          kind: 'retry',
          error: isOutboxError(error)
            ? error.toInfo()
            : { code: 'unknown', message: `transport threw: ${nameOf(error)}` },
        };
      }
      // settle() takes in what the outcome says about the whole transport (a rate-limit pause,
      // offline) before its first await, so the pass that release() starts already knows it.
      // What the entry's in-doubt mark becomes: the transport's verdict, else what it was before
      // this attempt, or in doubt from this attempt's start when it ended without an answer.
      const verdict = outcome.inDoubtSince;
      const after =
        verdict === null
          ? undefined
          : (verdict ??
            (outcome.kind === 'retry' && IN_DOUBT_CODES.has(outcome.error.code)
              ? entry.inDoubtSince
              : since));
      const settling = settle({ ...entry, inDoubtSince: after }, outcome);
      release();
      await settling;
    } finally {
      release();
    }
  }

  async function settle(entry: StoredEntry, outcome: SendOutcome): Promise<void> {
    const now = clock.now();
    if (outcome.kind !== 'offline') connectivity.report?.(true);
    if (outcome.kind !== 'reauth') reauthOnce.delete(entry.id);

    switch (outcome.kind) {
      case 'delivered': {
        const sent: StoredEntry = { ...entry, status: 'sent', attempts: entry.attempts + 1 };
        delete sent.nextAttemptAt;
        delete sent.lastError;
        // Other tabs hear of it before the entry leaves the store: if this tab dies in between,
        // they still know, and the next sender's repeat of the attempt is idempotent.
        coordinator.broadcast({ type: 'status', entry: toPublicEntry(sent) });
        if (host.record === undefined) await store.remove(sent.id);
        else
          await host.record(
            [
              {
                key: sent.id,
                conversationId: sent.conversationId,
                direction: 'Inbound',
                text: sent.text,
                time: outcome.serverTime ?? clock.now(),
                order: orderOf(sent),
                status: 'sent',
                ...(outcome.serverId === undefined ? {} : { serverId: outcome.serverId }),
              },
            ],
            sent.id,
          );
        changed(sent);
        return;
      }
      case 'rejected':
        await fail(entry, outcome.error, entry.attempts + 1);
        return;
      case 'offline': {
        connectivity.report?.(false);
        const offlineAttempts = (entry.offlineAttempts ?? 0) + 1;
        await reschedule(
          { ...entry, offlineAttempts },
          outcome.error,
          now + backoff(offlineAttempts - 1),
        );
        return;
      }
      case 'rate-limited': {
        // What the server asked for, no jitter; it applies to the whole client. At least
        // MIN_RATE_LIMIT_WAIT_MS (a `Retry-After: 0` or a past date must not mean "hammer"), and
        // it counts as an attempt: a 429 storm ends `expired` at maxAttempts (or maxAgeMs).
        const wait = Math.min(
          Math.max(MIN_RATE_LIMIT_WAIT_MS, outcome.retryAfterMs),
          Math.max(MIN_RATE_LIMIT_WAIT_MS, retry.maxRetryAfterMs),
        );
        pausedUntil = Math.max(pausedUntil, now + wait);
        await retryLater(entry, outcome.error, now, now + wait);
        return;
      }
      case 'reauth':
        if (!reauthOnce.has(entry.id)) {
          // Credentials or session were refreshed: try again now, without spending an attempt.
          reauthOnce.add(entry.id);
          await reschedule({ ...entry, offlineAttempts: 0 }, outcome.error, now);
          return;
        }
        reauthOnce.delete(entry.id);
        await retryLater(entry, outcome.error, now);
        return;
      case 'retry':
        await retryLater(entry, outcome.error, now);
        return;
    }
  }

  /** Spends an attempt: `expired` at maxAttempts, else pending until `at` (default: backoff). */
  async function retryLater(
    entry: StoredEntry,
    error: ErrorInfo,
    now: number,
    at?: number,
  ): Promise<void> {
    const attempts = entry.attempts + 1;
    if (attempts >= retry.maxAttempts) {
      await fail(
        entry,
        {
          code: 'expired',
          message: `${attempts} attempts (retry.maxAttempts); last: ${error.code}: ${error.message}`,
          ...(error.status === undefined ? {} : { status: error.status }),
        },
        attempts,
      );
      return;
    }
    await reschedule(
      { ...entry, attempts, offlineAttempts: 0 },
      error,
      at ?? now + backoff(attempts - 1),
    );
  }

  async function reschedule(entry: StoredEntry, error: ErrorInfo, at: number): Promise<void> {
    const saved = await save({ ...entry, status: 'pending', nextAttemptAt: at, lastError: error });
    if (saved !== undefined) changed(saved);
  }

  async function fail(entry: StoredEntry, error: ErrorInfo, attempts: number): Promise<void> {
    const failed: StoredEntry = { ...entry, status: 'failed', attempts, lastError: error };
    delete failed.nextAttemptAt;
    const saved = await save(failed);
    if (saved !== undefined) changed(saved);
  }

  /**
   * Writes an entry back; `undefined` when the user discarded it meanwhile, or when another
   * instance took the store's sender lease over (`lease-lost`: it owns the entry now).
   */
  async function save(entry: StoredEntry): Promise<StoredEntry | undefined> {
    try {
      return await store.update(entry, { sender: true });
    } catch (error: unknown) {
      if (isOutboxError(error) && (error.code === 'not-found' || error.code === 'lease-lost'))
        return undefined;
      throw error;
    }
  }

  const backoff = (retryIndex: number): number => backoffDelay(retryIndex, retry, host.random);

  function arm(at: number): void {
    if (at === timerAt) return;
    clearTimer();
    if (!Number.isFinite(at) || signal.aborted) return;
    timerAt = at;
    timer = clock.setTimeout(
      () => {
        timer = undefined;
        timerAt = Infinity;
        kick();
      },
      Math.max(0, at - clock.now()),
    );
  }

  function clearTimer(): void {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    timerAt = Infinity;
  }

  return {
    wake,
    wakeFor(conversationId) {
      if (inFlight.has(conversationId)) return;
      book?.touch(conversationId);
      if (onWire < host.concurrency) kick();
      else starved = true;
    },
    async idle() {
      while (inFlight.size > 0 || pumping !== undefined) {
        await Promise.all([pumping, ...inFlight.values()]);
      }
    },
    stop: clearTimer,
  };
}

/**
 * What a thrown value is, never what it says: its message may quote the entry it was sending
 * (design rule 14), and `lastError` is kept in clear at rest and shown in events.
 */
function nameOf(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : typeof error;
}

// flush() on a standby (standbyFlush.ts): in this chunk, which every outbox fetches at start, as
// its default export (the shortest name to write in the first load).
export { default } from './standbyFlush.js';
