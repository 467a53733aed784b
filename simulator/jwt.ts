import { createHmac, randomBytes } from 'node:crypto';
import type { SimClock } from './clock.js';
import { newUuid } from './ids.js';

const b64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

/**
 * Guest JWTs handed out by `getJwt`: real JWTs (`header.payload.signature`, HS256 with a secret
 * made per simulator), claims `iss`, `jti`, `iat`, `exp`. Clients should not depend on the claims
 * (Genesys' are not public); the simulator maps each JWT to its session and expiry.
 */
export class JwtStore {
  private readonly jwts = new Map<string, { sessionToken: string; expiresAt: number }>();
  private ttlSeconds: number;
  private readonly secret = randomBytes(32);

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
    const now = this.clock.now();
    const expiresAt = now + this.ttlSeconds * 1000;
    const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const payload = b64url(
      JSON.stringify({
        iss: 'genesys-outbox-simulator',
        jti: newUuid(),
        iat: Math.floor(now / 1000),
        exp: Math.floor(expiresAt / 1000),
      }),
    );
    const signature = createHmac('sha256', this.secret)
      .update(`${header}.${payload}`)
      .digest('base64url');
    const jwt = `${header}.${payload}.${signature}`;
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
