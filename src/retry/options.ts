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
  const names = Object.keys(DEFAULT_RETRY) as (keyof RetryOptions)[];
  const o: RetryOptions =
    options === undefined ? {} : readOptions('retry', options, names.join(' '));
  const resolved = { ...DEFAULT_RETRY };
  for (const k of names) {
    // maxAttempts (whole) and maxAgeMs: at least 1, and Infinity is no limit of that kind
    // (maxAgeMs: never expire by age; maxAttempts still applies); the others: at least 0.
    const limit = k === 'maxAttempts' || k === 'maxAgeMs';
    resolved[k] = numberOption(
      `retry.${k}`,
      o[k],
      DEFAULT_RETRY[k],
      +limit,
      k === 'maxAttempts',
      limit,
    );
  }
  if (resolved.maxDelayMs < resolved.baseDelayMs) {
    throw invalidOptions('retry.maxDelayMs < retry.baseDelayMs');
  }
  return resolved;
}
