/** Opaque timer handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * Injected time. Tests move a fake clock instead of faking global timers
 * (fake timers stall fake-indexeddb).
 */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock. Globals are read at call time, not captured at import time, so that
 * environments which patch timers later still work. Node timers are unref'd: a pending
 * retry never keeps a process alive by itself (while someone awaits `whenSettled`/`flush`, the
 * outbox holds the process open: see `internal/keepAlive.ts`, design rule 12).
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, delayMs) {
    const handle = globalThis.setTimeout(callback, Math.max(0, Math.min(delayMs, 2_147_483_647)));
    (handle as unknown as { unref?: () => void }).unref?.(); // Node's timers only
    return handle;
  },
  clearTimeout(handle) {
    globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>);
  },
};
