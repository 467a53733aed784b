/**
 * Exponential backoff with full jitter (design rule 5):
 * `floor(random() * min(maxDelayMs, baseDelayMs * 2^retryIndex))`.
 *
 * - `retryIndex` 0 is the first retry; negative or non-finite values count as 0, fractions are floored.
 * - The exponent is clamped, so a huge index yields the cap instead of `Infinity`/`NaN`.
 * - The result is floored to whole milliseconds and never negative.
 * - `random` must return a number in [0, 1); values outside are clamped (tests use `() => 1`
 *   to get the ceiling itself).
 *
 * @example
 * backoffDelay(0, { baseDelayMs: 2000, maxDelayMs: 60000 }, () => 1) // 2000
 * backoffDelay(9, { baseDelayMs: 2000, maxDelayMs: 60000 }, () => 1) // 60000
 */
export function backoffDelay(
  retryIndex: number,
  opts: { baseDelayMs: number; maxDelayMs: number },
  random: () => number,
): number {
  const base = Math.max(0, opts.baseDelayMs) || 0;
  const max = Math.max(0, opts.maxDelayMs) || 0;
  const index = retryIndex > 0 ? Math.floor(Math.min(retryIndex, 1024)) : 0;
  // base * 2^1024 is Infinity for any base > 0 and min() then picks the cap; for base 0 it is
  // NaN (0 × Infinity), which the next line turns into 0.
  let ceiling = Math.min(max, base * 2 ** index);
  if (!(ceiling < Number.MAX_SAFE_INTEGER)) ceiling = ceiling > 0 ? Number.MAX_SAFE_INTEGER : 0;
  const r = random();
  const jitter = r > 0 ? Math.min(r, 1) : 0;
  return Math.floor(jitter * ceiling);
}
