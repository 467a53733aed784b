/**
 * How long to wait before the next `onMessage` may go out (pure): at most `perWindow` sends in any
 * `windowMs`, and nothing before `blockedUntil` (a server `retryAfter`).
 *
 * @param sentAt send times, oldest first.
 * @example paceDelay([0, 10], 500, 2, 1000) // 500: the send at 0 leaves the window at 1000
 */
export function paceDelay(
  sentAt: readonly number[],
  now: number,
  perWindow: number,
  windowMs: number,
  blockedUntil = 0,
): number {
  const recent = sentAt.filter((t) => t > now - windowMs);
  const oldestThatMustLeave = recent[recent.length - perWindow];
  const wait = oldestThatMustLeave === undefined ? 0 : oldestThatMustLeave + windowMs - now;
  return Math.max(0, wait, blockedUntil - now);
}
