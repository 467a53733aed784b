import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/retry/retryAfter.js';

const HOUR = 3_600_000;
// 1994-11-06T08:49:37Z, the RFC 9110 example date.
const RFC_DATE_MS = Date.UTC(1994, 10, 6, 8, 49, 37);

describe('parseRetryAfter: delay-seconds', () => {
  it('turns seconds into milliseconds', () => {
    expect(parseRetryAfter('0', 0, HOUR)).toBe(0);
    expect(parseRetryAfter('1', 0, HOUR)).toBe(1000);
    expect(parseRetryAfter('42', 123, HOUR)).toBe(42_000);
    expect(parseRetryAfter('  120  ', 0, HOUR)).toBe(120_000);
    expect(parseRetryAfter('007', 0, HOUR)).toBe(7000);
  });

  it('caps at maxMs, even for absurd numbers', () => {
    expect(parseRetryAfter('3600', 0, HOUR)).toBe(HOUR);
    expect(parseRetryAfter('3601', 0, HOUR)).toBe(HOUR);
    expect(parseRetryAfter('99999999999999999999999', 0, HOUR)).toBe(HOUR);
    expect(parseRetryAfter('9'.repeat(400), 0, HOUR)).toBe(HOUR);
    expect(parseRetryAfter('10', 0, 5000)).toBe(5000);
  });

  it('rejects what RFC 9110 does not allow (caller falls back to backoff)', () => {
    for (const v of [
      '',
      '   ',
      '-1',
      '-0',
      '+5',
      '1.5',
      '1e3',
      '0x10',
      '5s',
      'abc',
      'NaN',
      'Infinity',
      '1 2',
    ]) {
      expect(parseRetryAfter(v, 0, HOUR), JSON.stringify(v)).toBeUndefined();
    }
    expect(parseRetryAfter(null, 0, HOUR)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0, HOUR)).toBeUndefined();
  });
});

describe('parseRetryAfter: HTTP-date', () => {
  it('IMF-fixdate: time until the date, measured from nowMs', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', RFC_DATE_MS - 30_000, HOUR)).toBe(
      30_000,
    );
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', RFC_DATE_MS - 1, HOUR)).toBe(1);
  });

  it('obsolete RFC 850 and asctime forms (asctime read as UTC in any time zone)', () => {
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', RFC_DATE_MS - 5000, HOUR)).toBe(5000);
    expect(parseRetryAfter('Sun Nov  6 08:49:37 1994', RFC_DATE_MS - 5000, HOUR)).toBe(5000);
  });

  it('a date in the past or now means 0', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', RFC_DATE_MS, HOUR)).toBe(0);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', RFC_DATE_MS + 86_400_000, HOUR)).toBe(
      0,
    );
  });

  it('a date far in the future is capped at maxMs', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', RFC_DATE_MS - 10 * HOUR, HOUR)).toBe(
      HOUR,
    );
  });

  it('what Date.toUTCString() produces round-trips', () => {
    const now = Date.UTC(2030, 0, 1, 12, 0, 0);
    expect(parseRetryAfter(new Date(now + 90_000).toUTCString(), now, HOUR)).toBe(90_000);
  });

  it('garbage dates are undefined, not NaN', () => {
    for (const v of [
      'Sun, 06 Nov 1994 08:49:37',
      'Sun, 06 Xyz 1994 08:49:37 GMT',
      'Sun, 99 Nov 1994 08:49:37 GMT',
      '1994-11-06T08:49:37Z',
      'tomorrow',
      'Sun, 06 Nov 1994 08:49:37 +0100',
    ]) {
      expect(parseRetryAfter(v, 0, HOUR), v).toBeUndefined();
    }
  });
});
