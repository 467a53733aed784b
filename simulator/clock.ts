/**
 * The simulator's clock: a base time source plus an offset that tests move forward with
 * `control.advanceClock(ms)`. Token, JWT and session expiry and the guest rate-limit window are
 * measured with it; real waits (latency, frame delays, the bot) use real timers.
 */
export class SimClock {
  private offsetMs = 0;

  constructor(private readonly base: () => number) {}

  now(): number {
    return this.base() + this.offsetMs;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('advanceClock: ms must be >= 0');
    this.offsetMs += ms;
  }
}
