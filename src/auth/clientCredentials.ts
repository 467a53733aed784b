import { readOptions } from '../internal/options.js';
import { OutboxError, isOutboxError } from '../errors/OutboxError.js';
import { resolveRegion } from '../internal/regions.js';
import { describeErrorBody } from '../retry/classify.js';
import type { TokenProvider } from './tokenProvider.js';

/** Options of {@link clientCredentials}. */
export interface ClientCredentialsOptions {
  /** Genesys Cloud region, e.g. `eu_west_1` (or `eu-west-1`). Either this or `loginUrl`. */
  region?: string;
  /** OAuth base URL, e.g. `https://login.mypurecloud.ie` or a simulator URL. Wins over `region`. */
  loginUrl?: string;
  clientId: string;
  clientSecret: string;
  /** @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
  /** Injected time (token expiry). @default Date.now */
  clock?: { now(): number };
  /** Timeout of one token request. @default 15000 */
  timeoutMs?: number;
}

/** Tokens are refreshed this long before they expire. */
const EARLY_MS = 30_000;
/** Lifetime assumed when the server omits `expires_in` (Genesys' minimum: 300 s). */
const DEFAULT_LIFETIME_S = 300;

function isBrowser(): boolean {
  const g = globalThis as { window?: unknown; document?: unknown };
  return typeof g.window !== 'undefined' && typeof g.document !== 'undefined';
}

/**
 * OAuth client-credentials token provider for Genesys Cloud (genesys-api.md §2). **Node only**:
 * it refuses to run in a browser (`insecure-context`), where the secret would be public.
 *
 * `POST <loginUrl>/oauth/token` with `Authorization: Basic base64(clientId:clientSecret)` and
 * `grant_type=client_credentials`. The token is cached in memory until 30 s before it expires;
 * concurrent `getToken()` calls share one request. Failures reject with `OutboxError`:
 * `auth-failed` (non-2xx, with `status`; or no token in the answer), `network`, `timeout`.
 *
 * @example
 * const tokens = clientCredentials({ region: 'eu_west_1', clientId, clientSecret });
 */
export function clientCredentials(input: ClientCredentialsOptions): TokenProvider {
  if (isBrowser()) {
    throw new OutboxError(
      'insecure-context',
      'clientCredentials must not run in a browser: the client secret would be exposed to every visitor',
    );
  }
  const options = readOptions(
    'clientCredentials',
    input,
    'region loginUrl clientId clientSecret fetch clock timeoutMs',
  );
  const { clientId, clientSecret, clock, timeoutMs = 15_000 } = options;
  if (typeof clientId !== 'string' || clientId === '') {
    throw new OutboxError('invalid-options', 'clientId must be a non-empty string');
  }
  if (typeof clientSecret !== 'string' || clientSecret === '') {
    throw new OutboxError('invalid-options', 'clientSecret must be a non-empty string');
  }
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) {
    throw new OutboxError('invalid-options', 'timeoutMs must be a positive number');
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new OutboxError('invalid-options', 'fetch must be a function');
  }
  let loginUrl: string;
  if (typeof options.loginUrl === 'string' && options.loginUrl !== '') {
    loginUrl = options.loginUrl;
  } else if (options.loginUrl !== undefined) {
    throw new OutboxError('invalid-options', 'loginUrl must be a non-empty string');
  } else if (options.region !== undefined) {
    loginUrl = resolveRegion(options.region).loginUrl;
  } else {
    throw new OutboxError('invalid-options', 'clientCredentials needs region or loginUrl');
  }
  const tokenUrl = `${loginUrl.replace(/\/+$/, '')}/oauth/token`;
  // A malformed URL is bad input, not a network failure (which would be retried as "offline").
  let protocol = '';
  try {
    protocol = new URL(tokenUrl).protocol;
  } catch {
    // reported below
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new OutboxError('invalid-options', `loginUrl is not an http(s) URL: ${loginUrl}`);
  }
  const authorization = `Basic ${base64Utf8(`${clientId}:${clientSecret}`)}`;
  const now = () => (clock ? clock.now() : Date.now());

  let cached: { token: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function request(): Promise<string> {
    const doFetch = options.fetch ?? globalThis.fetch;
    const startedAt = now();
    let response: Response;
    try {
      response = await doFetch(tokenUrl, {
        method: 'POST',
        headers: {
          authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: 'grant_type=client_credentials',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error: unknown) {
      const name = (error as { name?: unknown } | null)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new OutboxError('timeout', `token request timed out after ${timeoutMs} ms`, {
          cause: error,
        });
      }
      throw new OutboxError('network', 'token request failed: network error', { cause: error });
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      body = undefined;
    }
    const oauthError = (body as { error?: unknown } | undefined)?.error;
    if (oauthError === 'invalid_client' || oauthError === 'unauthorized_client') {
      // Wrong clientId/clientSecret (or a client without this grant): retrying cannot help.
      throw new OutboxError(
        'auth-misconfigured',
        `token endpoint: ${oauthError}: check clientId and clientSecret`,
        { status: response.status },
      );
    }
    if (!response.ok) {
      throw new OutboxError(
        'auth-failed',
        `token request failed with HTTP ${response.status}${describeErrorBody(body)}`,
        { status: response.status },
      );
    }
    const { access_token: token, expires_in: expiresIn } = (body ?? {}) as {
      access_token?: unknown;
      expires_in?: unknown;
    };
    if (typeof token !== 'string' || token === '') {
      throw new OutboxError('auth-failed', 'token response had no access_token', {
        status: response.status,
      });
    }
    const lifetimeS =
      typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : DEFAULT_LIFETIME_S;
    cached = { token, refreshAt: startedAt + lifetimeS * 1000 - EARLY_MS };
    return token;
  }

  return {
    getToken() {
      if (cached !== undefined && now() < cached.refreshAt) return Promise.resolve(cached.token);
      pending ??= request()
        .catch((error: unknown) => {
          throw isOutboxError(error)
            ? error
            : new OutboxError('auth-failed', 'token request failed', { cause: error });
        })
        .finally(() => {
          pending = undefined;
        });
      return pending;
    },
    invalidate(token) {
      if (token === undefined || token === cached?.token) cached = undefined;
    },
  };
}

/** Base64 of the UTF-8 bytes of `text`, without Node's Buffer (this module is reachable from the main entry). */
function base64Utf8(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}
