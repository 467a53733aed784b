import { isOutboxError } from '../errors/OutboxError.js';
import type { ErrorInfo } from '../errors/OutboxError.js';
import type { Clock, TimerHandle } from '../internal/clock.js';
import type { Logger } from '../internal/logger.js';
import { backoffDelay } from '../retry/backoff.js';
import type { ResolvedRetryOptions } from '../retry/options.js';
import type { OutboxStore } from '../store/OutboxStore.js';
import type { SendOutcome, Transport } from '../transport/Transport.js';
import { toPublicEntry } from './entry.js';
import type { StoredEntry } from './entry.js';

/** What the dispatcher needs from the outbox around it. */
export interface DispatcherHost {
  store: OutboxStore;
  transport: Transport;
  clock: Clock;
  random: () => number;
  retry: ResolvedRetryOptions;
  logger: Logger;
  concurrency: number;
  signal: AbortSignal;
  /** May this instance send now? (leader, not closed) */
  canSend(): boolean;
  isOnline(): boolean;
  reportConnectivity(online: boolean): void;
  /** A stored entry changed status (or was delivered: status 'sent'). */
  changed(entry: StoredEntry): void;
  /** Called after a delivery, before the entry leaves the store. */
  delivered(
    entry: StoredEntry,
    outcome: Extract<SendOutcome, { kind: 'delivered' }>,
  ): Promise<void>;
}

/** Codes of errors after which the server may have the message although we never heard back. */
const IN_DOUBT_CODES = new Set(['in-doubt', 'timeout']);

/**
 * The drain loop. One pass reads the head of every conversation (one entry each, via the store's
 * index), expires what is too old, starts attempts for due heads up to the concurrency limit and
 * arms ONE timer for the earliest future event. Nothing polls: an empty outbox arms no timer.
 */
export class Dispatcher {
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private pumping: Promise<void> | undefined;
  private again = false;
  /** Until when the whole transport is paused by a rate limit (Retry-After applies to the client). */
  private pausedUntil = 0;
  /** Next pass treats every head as due (flush) / heads waiting on the network as due (online). */
  private forceAll = false;
  private forceOffline = false;
  /** Entries whose last outcome was re-auth: the next one backs off instead of retrying at once. */
  private readonly reauthOnce = new Set<string>();
  private storageFailures = 0;

  constructor(private readonly host: DispatcherHost) {}

  /** Look at the store now. `mode`: 'flush' = ignore backoff; 'online' = retry entries that waited for the network. */
  wake(mode: 'normal' | 'flush' | 'online' = 'normal'): void {
    if (mode === 'flush') this.forceAll = true;
    if (mode === 'online') this.forceOffline = true;
    if (this.pumping !== undefined) {
      this.again = true;
      return;
    }
    this.pumping = this.pump();
  }

  /** Resolves when no pass is running and every attempt started so far has settled. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0 || this.pumping !== undefined) {
      await Promise.all([this.pumping, ...this.inFlight.values()]);
    }
  }

  stop(): void {
    this.clearTimer();
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.host.signal.aborted);
      this.storageFailures = 0;
    } catch (error: unknown) {
      // A storage failure must never kill the loop (the tutorial's scheduler died this way).
      this.storageFailures++;
      const delay = backoffDelay(
        Math.min(this.storageFailures, 10),
        { baseDelayMs: 500, maxDelayMs: 30_000 },
        () => 1,
      );
      this.host.logger.error('drain failed', {
        code: isOutboxError(error) ? error.code : 'unknown',
        retryInMs: delay,
      });
      this.arm(this.host.clock.now() + delay);
    } finally {
      this.pumping = undefined;
    }
  }

  private async pass(): Promise<void> {
    const { host } = this;
    if (host.signal.aborted || !host.canSend()) return;
    const heads = await host.store.heads();
    const now = host.clock.now();
    const forceAll = this.forceAll;
    const forceOffline = this.forceOffline;
    this.forceAll = false;
    this.forceOffline = false;
    const online = host.isOnline() || forceAll;
    let earliest = Infinity;

    for (const head of heads) {
      if (host.signal.aborted || !host.canSend()) return;
      if (this.inFlight.has(head.conversationId)) continue;
      const expiresAt = (head.retriedAt ?? head.createdAt) + host.retry.maxAgeMs;
      if (expiresAt <= now) {
        await this.expire(head, `older than retry.maxAgeMs (${host.retry.maxAgeMs} ms)`);
        this.again = true; // the next entry of this conversation is now its head
        continue;
      }
      earliest = Math.min(earliest, expiresAt);
      const waitingForNetwork = (head.offlineAttempts ?? 0) > 0;
      const dueAt = Math.max(
        forceAll || (forceOffline && waitingForNetwork) ? now : (head.nextAttemptAt ?? now),
        this.pausedUntil,
      );
      if (dueAt > now || !online || this.inFlight.size >= host.concurrency) {
        // Offline: do not arm a timer for it; coming online wakes us. Full: a settling attempt wakes us.
        if (dueAt > now && online) earliest = Math.min(earliest, dueAt);
        continue;
      }
      this.start(head);
    }
    this.arm(earliest);
  }

  private start(head: StoredEntry): void {
    const p = this.attempt(head)
      .catch((error: unknown) => {
        this.host.logger.error('attempt failed', {
          id: head.id,
          code: isOutboxError(error) ? error.code : 'unknown',
        });
      })
      .finally(() => {
        this.inFlight.delete(head.conversationId);
        this.wake();
      });
    this.inFlight.set(head.conversationId, p);
  }

  private async attempt(head: StoredEntry): Promise<void> {
    const { host } = this;
    // A head found 'sending' that we did not start was in flight when the last run stopped.
    const inDoubt =
      head.status === 'sending' ||
      (head.lastError !== undefined && IN_DOUBT_CODES.has(head.lastError.code));
    // Persist 'sending' before the attempt: after a crash we know it may have gone out.
    const entry = await this.save({ ...head, status: 'sending' });
    if (entry === undefined) return; // discarded meanwhile
    host.changed(entry);

    let outcome: SendOutcome;
    try {
      outcome = await host.transport.send(toPublicEntry(entry), {
        signal: host.signal,
        attempt: entry.attempts + 1,
        inDoubt,
      });
    } catch (error: unknown) {
      // A transport must return outcomes; a throw is a bug or an unexpected failure. It is
      // retried with backoff and counts as an attempt, so it ends at maxAttempts, never loops forever.
      outcome = {
        kind: 'retry',
        error: isOutboxError(error)
          ? error.toInfo()
          : { code: 'unknown', message: `transport threw: ${describe(error)}` },
      };
    }
    await this.settle(entry, outcome);
  }

  private async settle(entry: StoredEntry, outcome: SendOutcome): Promise<void> {
    const { host } = this;
    const now = host.clock.now();
    if (outcome.kind !== 'offline') host.reportConnectivity(true);
    if (outcome.kind !== 'reauth') this.reauthOnce.delete(entry.id);

    switch (outcome.kind) {
      case 'delivered': {
        const sent: StoredEntry = { ...entry, status: 'sent', attempts: entry.attempts + 1 };
        delete sent.nextAttemptAt;
        delete sent.lastError;
        await host.delivered(sent, outcome);
        await host.store.remove(entry.id);
        host.changed(sent);
        return;
      }
      case 'rejected':
        await this.fail(entry, outcome.error, entry.attempts + 1);
        return;
      case 'offline': {
        host.reportConnectivity(false);
        const offlineAttempts = (entry.offlineAttempts ?? 0) + 1;
        await this.reschedule(
          { ...entry, offlineAttempts },
          outcome.error,
          now + this.backoff(offlineAttempts - 1),
        );
        return;
      }
      case 'rate-limited': {
        // Exactly what the server asked for, no jitter; it applies to the whole client.
        const wait = Math.min(Math.max(0, outcome.retryAfterMs), host.retry.maxRetryAfterMs);
        this.pausedUntil = Math.max(this.pausedUntil, now + wait);
        await this.reschedule(
          { ...entry, attempts: entry.attempts + 1, offlineAttempts: 0 },
          outcome.error,
          now + wait,
        );
        return;
      }
      case 'reauth':
        if (!this.reauthOnce.has(entry.id)) {
          // Credentials or session were refreshed: try again now, without spending an attempt.
          this.reauthOnce.add(entry.id);
          await this.reschedule({ ...entry, offlineAttempts: 0 }, outcome.error, now);
          return;
        }
        this.reauthOnce.delete(entry.id);
        await this.retryLater(entry, outcome.error, now);
        return;
      case 'retry':
        await this.retryLater(entry, outcome.error, now);
        return;
    }
  }

  private async retryLater(entry: StoredEntry, error: ErrorInfo, now: number): Promise<void> {
    const attempts = entry.attempts + 1;
    if (attempts >= this.host.retry.maxAttempts) {
      await this.fail(
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
    await this.reschedule(
      { ...entry, attempts, offlineAttempts: 0 },
      error,
      now + this.backoff(attempts - 1),
    );
  }

  private async reschedule(entry: StoredEntry, error: ErrorInfo, at: number): Promise<void> {
    const next: StoredEntry = { ...entry, status: 'pending', nextAttemptAt: at, lastError: error };
    const saved = await this.save(next);
    if (saved !== undefined) this.host.changed(saved);
  }

  private async fail(entry: StoredEntry, error: ErrorInfo, attempts: number): Promise<void> {
    const failed: StoredEntry = { ...entry, status: 'failed', attempts, lastError: error };
    delete failed.nextAttemptAt;
    const saved = await this.save(failed);
    if (saved !== undefined) this.host.changed(saved);
  }

  private expire(entry: StoredEntry, message: string): Promise<void> {
    const last = entry.lastError === undefined ? '' : `; last: ${entry.lastError.code}`;
    return this.fail(entry, { code: 'expired', message: message + last }, entry.attempts);
  }

  /** Writes an entry back; `undefined` when the user discarded it meanwhile. */
  private async save(entry: StoredEntry): Promise<StoredEntry | undefined> {
    try {
      return await this.host.store.update(entry);
    } catch (error: unknown) {
      if (isOutboxError(error) && error.code === 'not-found') return undefined;
      throw error;
    }
  }

  private backoff(retryIndex: number): number {
    return backoffDelay(retryIndex, this.host.retry, this.host.random);
  }

  private arm(at: number): void {
    if (at === this.timerAt) return;
    this.clearTimer();
    if (!Number.isFinite(at) || this.host.signal.aborted) return;
    this.timerAt = at;
    this.timer = this.host.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.wake();
      },
      Math.max(0, at - this.host.clock.now()),
    );
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.host.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
