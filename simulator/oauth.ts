import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimClock } from './clock.js';
import { newOpaqueToken } from './ids.js';
import { platformError, readBody, sendJson, sendPlatformError } from './respond.js';
import type { Faults } from './faults.js';

interface TokenRecord {
  clientId: string;
  expiresAt: number;
  revoked: boolean;
}

/** Result of checking a request's `Authorization: Bearer` header. */
export type BearerCheck =
  { ok: true; token: string } | { ok: false; reason: 'missing' | 'invalid' };

/** OAuth client-credentials access tokens (genesys-api.md §2): opaque, in memory, expiring. */
export class TokenStore {
  private readonly tokens = new Map<string, TokenRecord>();

  constructor(
    private readonly clock: SimClock,
    private readonly ttlSeconds: number,
  ) {}

  issue(clientId: string): { token: string; expiresIn: number } {
    const token = newOpaqueToken('sim-at-');
    this.tokens.set(token, {
      clientId,
      expiresAt: this.clock.now() + this.ttlSeconds * 1000,
      revoked: false,
    });
    return { token, expiresIn: this.ttlSeconds };
  }

  isValid(token: string): boolean {
    const record = this.tokens.get(token);
    return record !== undefined && !record.revoked && this.clock.now() < record.expiresAt;
  }

  /** Every token issued so far stops working; new ones can be fetched. */
  revokeAll(): void {
    for (const record of this.tokens.values()) record.revoked = true;
  }

  checkBearer(req: IncomingMessage): BearerCheck {
    const token = bearerToken(req);
    if (token === undefined) return { ok: false, reason: 'missing' };
    return this.isValid(token) ? { ok: true, token } : { ok: false, reason: 'invalid' };
  }
}

/** The token of an `Authorization: Bearer <token>` header, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/** The Platform's 401 bodies (code strings as commonly seen from Genesys; not in our sources). */
export function sendUnauthorized(res: ServerResponse, reason: 'missing' | 'invalid'): void {
  sendPlatformError(
    res,
    reason === 'missing'
      ? platformError(
          401,
          'authentication.required',
          'No authentication bearer token specified in authorization header.',
        )
      : platformError(401, 'bad.credentials', 'Invalid login credentials.'),
  );
}

function parseBasic(header: string | undefined): { id: string; secret: string } | undefined {
  const match = typeof header === 'string' ? /^Basic\s+(\S+)\s*$/i.exec(header) : null;
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** `POST /oauth/token`: HTTP Basic client authentication, `grant_type=client_credentials`. */
export async function handleTokenRequest(
  req: IncomingMessage,
  res: ServerResponse,
  deps: { tokens: TokenStore; clients: Record<string, string>; faults: Faults },
): Promise<void> {
  const bodyText = await readBody(req);
  const injected = deps.faults.takeTokenFailure();
  if (injected !== undefined) {
    if (injected === 429) {
      sendPlatformError(
        res,
        platformError(
          429,
          'too.many.requests.retry.after',
          'Rate limit exceeded the maximum. Retry the request in [1] seconds',
        ),
        { 'retry-after': '1' },
      );
    } else {
      sendJson(res, injected, {
        error: injected >= 500 ? 'temporarily_unavailable' : 'invalid_request',
        description: 'injected failure',
        error_description: 'injected failure',
      });
    }
    return;
  }

  const credentials = parseBasic(req.headers.authorization);
  const expected = credentials ? deps.clients[credentials.id] : undefined;
  if (!credentials || expected === undefined || expected !== credentials.secret) {
    sendJson(
      res,
      401,
      {
        error: 'invalid_client',
        description: 'client not found or bad secret',
        error_description: 'client not found or bad secret',
      },
      { 'www-authenticate': 'Basic realm="simulator"' },
    );
    return;
  }

  const form = new URLSearchParams(bodyText);
  const grantType = form.get('grant_type');
  if (grantType !== 'client_credentials') {
    sendJson(res, 400, {
      error: grantType === null ? 'invalid_request' : 'unsupported_grant_type',
      description: 'grant_type must be client_credentials',
      error_description: 'grant_type must be client_credentials',
    });
    return;
  }

  const { token, expiresIn } = deps.tokens.issue(credentials.id);
  sendJson(res, 200, { access_token: token, token_type: 'bearer', expires_in: expiresIn });
}
