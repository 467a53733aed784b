// HTTP-date forms of RFC 9110 §5.6.7: IMF-fixdate and the obsolete RFC 850 form end in " GMT"
// after "<day-name>, "; asctime has no zone and means UTC.
const ZONED_DATE = /^[A-Za-z]{3,9}, [\d]{2}[ -][A-Za-z]{3}[ -]\d{2,4} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]?\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * Parses a `Retry-After` header value (RFC 9110 §10.2.3) into milliseconds to wait from `nowMs`.
 *
 * - delay-seconds (digits only): `seconds * 1000`;
 * - HTTP-date (IMF-fixdate, RFC 850, asctime): the time until that date; a past date gives 0;
 * - the result never exceeds `maxMs`;
 * - anything else (empty, negative, fractional, garbage) gives `undefined`, so the caller falls
 *   back to its backoff. (The tutorial's `parseInt` turned an HTTP-date into NaN and stalled.)
 *
 * @example
 * parseRetryAfter('42', Date.now(), 3_600_000) // 42000
 * parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', Date.now(), 3_600_000) // 0 (in the past)
 */
export function parseRetryAfter(
  value: string | null | undefined,
  nowMs: number,
  maxMs: number,
): number | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) {
    ms = Number(v) * 1000;
  } else if (ZONED_DATE.test(v) || ASCTIME.test(v)) {
    const at = Date.parse(v.endsWith('GMT') ? v : `${v} GMT`);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  } else {
    return undefined;
  }
  return Math.max(0, Math.min(ms, maxMs));
}
