import { OutboxError } from '../errors/OutboxError.js';
import { readOptions } from '../internal/options.js';

/** Retry policy (design rules 5 and 8). */
export interface RetryOptions {
  /** First backoff ceiling. @default 2000 */
  baseDelayMs?: number;
  /** Backoff cap. @default 60000 */
  maxDelayMs?: number;
  /** Attempts (that reached the network) before an entry fails with code `expired`. @default 20 */
  maxAttempts?: number;
  /** Age after which an undelivered entry fails with code `expired`. @default 86400000 (24 h) */
  maxAgeMs?: number;
  /** Longest `Retry-After` honoured; longer waits are capped to this. @default 3600000 (1 h) */
  maxRetryAfterMs?: number;
}

export type ResolvedRetryOptions = Required<RetryOptions>;

export const DEFAULT_RETRY: ResolvedRetryOptions = Object.freeze({
  baseDelayMs: 2000,
  maxDelayMs: 60_000,
  maxAttempts: 20,
  maxAgeMs: 24 * 60 * 60 * 1000,
  maxRetryAfterMs: 60 * 60 * 1000,
});

/** `integer`: a whole number (or Infinity: no limit); otherwise a finite number. */
function check(name: string, value: unknown, min: number, integer: boolean): number {
  if (
    typeof value !== 'number' ||
    Number.isNaN(value) ||
    value < min ||
    (integer ? Number.isFinite(value) && !Number.isInteger(value) : !Number.isFinite(value))
  ) {
    throw new OutboxError(
      'invalid-options',
      `retry.${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}: ${String(value)}`,
    );
  }
  return value;
}

/** Fills in defaults and validates; throws `OutboxError('invalid-options')` on bad values. */
export function resolveRetryOptions(options: RetryOptions | undefined): ResolvedRetryOptions {
  const given =
    options === undefined
      ? {}
      : readOptions(
          'retry',
          options,
          'baseDelayMs maxDelayMs maxAttempts maxAgeMs maxRetryAfterMs',
        );
  const o = { ...DEFAULT_RETRY, ...stripUndefined(given) };
  const resolved: ResolvedRetryOptions = {
    baseDelayMs: check('baseDelayMs', o.baseDelayMs, 0, false),
    maxDelayMs: check('maxDelayMs', o.maxDelayMs, 0, false),
    maxAttempts: check('maxAttempts', o.maxAttempts, 1, true),
    // Infinity: never expire by age (maxAttempts still applies).
    maxAgeMs: o.maxAgeMs === Infinity ? Infinity : check('maxAgeMs', o.maxAgeMs, 1, false),
    maxRetryAfterMs: check('maxRetryAfterMs', o.maxRetryAfterMs, 0, false),
  };
  if (resolved.maxDelayMs < resolved.baseDelayMs) {
    throw new OutboxError(
      'invalid-options',
      `retry.maxDelayMs < retry.baseDelayMs (${resolved.maxDelayMs} < ${resolved.baseDelayMs})`,
    );
  }
  return resolved;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
