/** What the simulator does to requests it is told to break. */
export type OutageMode = 'refuse' | 'reset' | false;

/** An injected answer for the next message request (tutorial or Open Messaging endpoint). */
export type MessageFault =
  { kind: '401' } | { kind: '429'; retryAfter: number | string } | { kind: '5xx'; status: number };

/** A guest `onMessage` answer injected with `failNextOnMessage`. */
export interface GuestFault {
  code: number;
  body?: unknown;
}

/** A snapshot of the fault switches, as `GET /__control/state` shows them. */
export interface FaultState {
  outage: OutageMode;
  latencyMs: number;
  fail429: { remaining: number; retryAfter: number | string };
  fail5xx: { remaining: number; status: number };
  fail401Once: boolean;
  commitThenDrop: number;
  failToken: { remaining: number; status: number };
  failNextOnMessage: GuestFault | null;
}

function checkCount(name: string, count: number): number {
  if (!Number.isInteger(count) || count < 0)
    throw new RangeError(`${name}: count must be an integer >= 0`);
  return count;
}

/**
 * Counters of injected failures. Each `take*` consumes one occurrence. The order in which a message
 * request meets them: outage → latency → real auth → fail401Once → fail429 → fail5xx → validation →
 * store → commitThenDrop.
 */
export class Faults {
  outage: OutageMode = false;
  latencyMs = 0;
  private fail429Remaining = 0;
  private fail429RetryAfter: number | string = 1;
  private fail5xxRemaining = 0;
  private fail5xxStatus = 503;
  private fail401 = false;
  private commitThenDropRemaining = 0;
  private failTokenRemaining = 0;
  private failTokenStatus = 503;
  private guestFault: GuestFault | undefined;

  setLatency(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('latency: ms must be >= 0');
    this.latencyMs = ms;
  }

  setFail429(count: number, retryAfter: number | string = 1): void {
    if (typeof retryAfter === 'number' && (!Number.isFinite(retryAfter) || retryAfter < 0)) {
      throw new RangeError('fail429: retryAfter must be >= 0 seconds or an HTTP-date string');
    }
    this.fail429Remaining = checkCount('fail429', count);
    this.fail429RetryAfter = retryAfter;
  }

  setFail5xx(count: number, status = 503): void {
    if (!Number.isInteger(status) || status < 500 || status > 599) {
      throw new RangeError('fail5xx: status must be 500-599');
    }
    this.fail5xxRemaining = checkCount('fail5xx', count);
    this.fail5xxStatus = status;
  }

  setFail401Once(): void {
    this.fail401 = true;
  }

  setCommitThenDrop(count: number): void {
    this.commitThenDropRemaining = checkCount('commitThenDrop', count);
  }

  setFailToken(count: number, status = 503): void {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError('failToken: status must be 400-599');
    }
    this.failTokenRemaining = checkCount('failToken', count);
    this.failTokenStatus = status;
  }

  setGuestFault(fault: GuestFault | undefined): void {
    if (fault !== undefined && !Number.isInteger(fault.code)) {
      throw new RangeError('failNextOnMessage: code must be an integer');
    }
    this.guestFault = fault;
  }

  /** The injected failure for this message request, if any (consumed). */
  takeMessageFault(): MessageFault | undefined {
    if (this.fail401) {
      this.fail401 = false;
      return { kind: '401' };
    }
    if (this.fail429Remaining > 0) {
      this.fail429Remaining -= 1;
      return { kind: '429', retryAfter: this.fail429RetryAfter };
    }
    if (this.fail5xxRemaining > 0) {
      this.fail5xxRemaining -= 1;
      return { kind: '5xx', status: this.fail5xxStatus };
    }
    return undefined;
  }

  /** True when this stored message's answer must be replaced by a dropped connection (consumed). */
  takeCommitThenDrop(): boolean {
    if (this.commitThenDropRemaining <= 0) return false;
    this.commitThenDropRemaining -= 1;
    return true;
  }

  /** The injected HTTP status for this token request, if any (consumed). */
  takeTokenFailure(): number | undefined {
    if (this.failTokenRemaining <= 0) return undefined;
    this.failTokenRemaining -= 1;
    return this.failTokenStatus;
  }

  takeGuestFault(): GuestFault | undefined {
    const fault = this.guestFault;
    this.guestFault = undefined;
    return fault;
  }

  /** Everything off (the outage itself is ended by the server, which owns the sockets). */
  clear(): void {
    this.latencyMs = 0;
    this.fail429Remaining = 0;
    this.fail429RetryAfter = 1;
    this.fail5xxRemaining = 0;
    this.fail5xxStatus = 503;
    this.fail401 = false;
    this.commitThenDropRemaining = 0;
    this.failTokenRemaining = 0;
    this.failTokenStatus = 503;
    this.guestFault = undefined;
  }

  snapshot(): FaultState {
    return {
      outage: this.outage,
      latencyMs: this.latencyMs,
      fail429: { remaining: this.fail429Remaining, retryAfter: this.fail429RetryAfter },
      fail5xx: { remaining: this.fail5xxRemaining, status: this.fail5xxStatus },
      fail401Once: this.fail401,
      commitThenDrop: this.commitThenDropRemaining,
      failToken: { remaining: this.failTokenRemaining, status: this.failTokenStatus },
      failNextOnMessage: this.guestFault ?? null,
    };
  }
}
