import type { ErrorInfo } from '../errors/OutboxError.js';

/** Where an entry is in its life. Delivered entries leave the outbox with status `sent`. */
export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed';

/** One message in the outbox, as callers see it. Plain structured-clone data. */
export interface OutboxEntry {
  /** UUID v4, generated once and used as the idempotency key on every attempt. */
  id: string;
  conversationId: string;
  text: string;
  metadata?: Record<string, string>;
  status: OutboxStatus;
  /** Delivery attempts that reached the network (attempts while offline do not count). */
  attempts: number;
  /** Epoch ms when `send()` committed the entry. */
  createdAt: number;
  /** Epoch ms before which the entry is not tried again (absolute, so it survives a reload). */
  nextAttemptAt?: number;
  lastError?: ErrorInfo;
}

/**
 * An entry as a store keeps it: the public fields plus the order key. `seq` comes from a
 * monotonic per-store sequence (never from the random id) and orders entries first in, first out.
 */
export interface StoredEntry extends OutboxEntry {
  seq: number;
  /** Consecutive attempts that failed because the network was unreachable (not counted in `attempts`). */
  offlineAttempts?: number;
  /** Epoch ms of the user's last `retry()`: the age limit counts from here instead of `createdAt`. */
  retriedAt?: number;
  /**
   * The place of this message's transcript line, given at `send()` and never changed (a retry
   * keeps it): see `TranscriptRecord.order`. Entries stored without one use `createdAt × 1000`.
   */
  order?: number;
  /**
   * In doubt: an attempt may have reached the server without a definite answer. Epoch ms when the
   * earliest such attempt started; absent when no attempt is in doubt. Written with `sending`
   * before every attempt (so a crash leaves it set) and changed only by the attempt's outcome
   * (see `SendOutcome.inDoubtSince`). Entries stored by versions without this field count as in
   * doubt since `createdAt` when found `sending` or with an `in-doubt`/`timeout` error.
   */
  inDoubtSince?: number | undefined;
}

/** What `append` takes: everything but the order key, which the store assigns. */
export type NewEntry = Omit<StoredEntry, 'seq'>;

/** A copy of an entry without internal fields, safe to hand to callers. */
export function toPublicEntry(entry: StoredEntry): OutboxEntry {
  const out: OutboxEntry = {
    id: entry.id,
    conversationId: entry.conversationId,
    text: entry.text,
    status: entry.status,
    attempts: entry.attempts,
    createdAt: entry.createdAt,
  };
  if (entry.metadata !== undefined) out.metadata = { ...entry.metadata };
  if (entry.nextAttemptAt !== undefined) out.nextAttemptAt = entry.nextAttemptAt;
  if (entry.lastError !== undefined) out.lastError = { ...entry.lastError };
  return out;
}

/**
 * A copy that shares no object with `entry`. Entries are flat but for `metadata` (a flat string
 * map) and `lastError`, so two spreads do what `structuredClone` does, several times faster on
 * the enqueue path.
 */
export function copyEntry<T extends NewEntry>(entry: T): T {
  const copy = { ...entry };
  if (entry.metadata !== undefined) copy.metadata = { ...entry.metadata };
  if (entry.lastError !== undefined) copy.lastError = { ...entry.lastError };
  return copy;
}

/**
 * The transcript place of an entry's line (legacy entries: `createdAt × 1000`). Here rather than
 * in transcript.ts so that the chunks using it (drain loop, transcript lines) share this module
 * with the first load, not one more chunk of their own.
 */
export const orderOf = (entry: StoredEntry): number => entry.order ?? entry.createdAt * 1000;
