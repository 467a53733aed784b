import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/retry/backoff.js';

const tutorial = { baseDelayMs: 2000, maxDelayMs: 60_000 };
const schedule = (random: () => number, n = 10, opts = tutorial) =>
  Array.from({ length: n }, (_, i) => backoffDelay(i, opts, random));

describe('backoffDelay', () => {
  it('with random = 1 gives the ceilings: doubling from baseDelayMs, capped at maxDelayMs', () => {
    expect(schedule(() => 1)).toEqual([
      2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000, 60000,
    ]);
  });

  it('with random = 0 gives 0 every time (full jitter reaches down to zero)', () => {
    expect(schedule(() => 0)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('with random = 0.5 gives half the ceilings', () => {
    expect(schedule(() => 0.5)).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000,
    ]);
  });

  it('floors to whole milliseconds', () => {
    expect(backoffDelay(0, { baseDelayMs: 1000, maxDelayMs: 60_000 }, () => 0.3333)).toBe(333);
    expect(backoffDelay(1, { baseDelayMs: 3, maxDelayMs: 100 }, () => 0.99)).toBe(5);
  });

  it('never overflows to Infinity or NaN for huge indices', () => {
    for (const i of [30, 64, 1023, 1024, 1025, 5000, Number.MAX_SAFE_INTEGER, Infinity]) {
      expect(backoffDelay(i, tutorial, () => 1)).toBe(60000);
      expect(backoffDelay(i, tutorial, () => 0.5)).toBe(30000);
      expect(backoffDelay(i, { baseDelayMs: 0, maxDelayMs: 60_000 }, () => 1)).toBe(0);
    }
  });

  it('treats negative, NaN and fractional indices sanely', () => {
    expect(backoffDelay(-1, tutorial, () => 1)).toBe(2000);
    expect(backoffDelay(Number.NaN, tutorial, () => 1)).toBe(2000);
    expect(backoffDelay(2.7, tutorial, () => 1)).toBe(8000);
  });

  it('clamps a random function that leaves [0, 1]', () => {
    expect(backoffDelay(0, tutorial, () => 7)).toBe(2000);
    expect(backoffDelay(0, tutorial, () => -3)).toBe(0);
    expect(backoffDelay(0, tutorial, () => Number.NaN)).toBe(0);
  });

  it('handles an infinite cap without returning Infinity', () => {
    const d = backoffDelay(2000, { baseDelayMs: 2000, maxDelayMs: Infinity }, () => 1);
    expect(d).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('uses the cap when base exceeds it', () => {
    expect(schedule(() => 1, 3, { baseDelayMs: 5000, maxDelayMs: 1000 })).toEqual([
      1000, 1000, 1000,
    ]);
  });
});
