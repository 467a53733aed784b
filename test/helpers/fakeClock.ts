import type { Clock } from '../../src/internal/clock.js';

/**
 * A clock tests move by hand. Timers fire only from `advance()`, never on their own, so
 * fake-indexeddb (which needs real timers) keeps working.
 */
export class FakeClock implements Clock {
  private t: number;
  private nextId = 1;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  /** How many timers were ever armed. */
  armed = 0;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.armed++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** The time of the earliest armed timer, if any. */
  nextTimerAt(): number | undefined {
    let min: number | undefined;
    for (const { at } of this.timers.values()) min = min === undefined ? at : Math.min(min, at);
    return min;
  }
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= until && (!due || e[1].at < due[1].at)) due = e;
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = until;
  }
}
