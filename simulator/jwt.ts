import type { SimClock } from './clock.js';
import { newOpaqueToken } from './ids.js';

/**
 * Guest JWTs handed out by `getJwt`. Opaque to clients (not a real JWT: clients must not parse
 * it), verifiable by the simulator: a random id mapped to its session and expiry.
 */
export class JwtStore {
  private readonly jwts = new Map<string, { sessionToken: string; expiresAt: number }>();
  private ttlSeconds: number;

  constructor(
    private readonly clock: SimClock,
    ttlSeconds: number,
  ) {
    this.ttlSeconds = ttlSeconds;
  }

  get ttl(): number {
    return this.ttlSeconds;
  }

  setTtl(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0)
      throw new RangeError('setJwtTtl: seconds must be >= 0');
    this.ttlSeconds = seconds;
  }

  /** A new JWT for the session; `exp` in epoch seconds, as `JwtResponse` carries it. */
  issue(sessionToken: string): { jwt: string; exp: number } {
    const jwt = newOpaqueToken('sim-jwt.');
    const expiresAt = this.clock.now() + this.ttlSeconds * 1000;
    this.jwts.set(jwt, { sessionToken, expiresAt });
    return { jwt, exp: Math.floor(expiresAt / 1000) };
  }

  /** The session token the JWT belongs to, or `undefined` when unknown or expired. */
  verify(jwt: string): string | undefined {
    const record = this.jwts.get(jwt);
    if (record === undefined || this.clock.now() >= record.expiresAt) return undefined;
    return record.sessionToken;
  }
}
