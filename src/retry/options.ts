import { invalidOptions, numberOption, readOptions } from '../internal/options.js';

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

/** Fills in defaults and validates; throws `OutboxError('invalid-options')` on bad values. */
export function resolveRetryOptions(options: RetryOptions | undefined): ResolvedRetryOptions {
  const o: RetryOptions =
    options === undefined
      ? {}
      : readOptions(
          'retry',
          options,
          'baseDelayMs maxDelayMs maxAttempts maxAgeMs maxRetryAfterMs',
        );
  const d = DEFAULT_RETRY;
  const resolved: ResolvedRetryOptions = {
    baseDelayMs: numberOption('retry.baseDelayMs', o.baseDelayMs, d.baseDelayMs, 0),
    maxDelayMs: numberOption('retry.maxDelayMs', o.maxDelayMs, d.maxDelayMs, 0),
    // Infinity: no limit of that kind (maxAgeMs: never expire by age; maxAttempts still applies).
    maxAttempts: numberOption('retry.maxAttempts', o.maxAttempts, d.maxAttempts, 1, true, true),
    maxAgeMs: numberOption('retry.maxAgeMs', o.maxAgeMs, d.maxAgeMs, 1, false, true),
    maxRetryAfterMs: numberOption('retry.maxRetryAfterMs', o.maxRetryAfterMs, d.maxRetryAfterMs, 0),
  };
  if (resolved.maxDelayMs < resolved.baseDelayMs) {
    throw invalidOptions(
      `retry.maxDelayMs < retry.baseDelayMs (${resolved.maxDelayMs} < ${resolved.baseDelayMs})`,
    );
  }
  return resolved;
}
