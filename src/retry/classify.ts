import type { ErrorInfo, OutboxErrorCode } from '../errors/OutboxError.js';
import type { SendOutcome } from '../transport/Transport.js';
import { parseRetryAfter } from './retryAfter.js';

type Kind = 'retry' | 'offline' | 'reauth' | 'rejected';

function fail(kind: Kind, code: OutboxErrorCode, message: string, status?: number): SendOutcome {
  const error: ErrorInfo = status === undefined ? { code, message } : { code, message, status };
  return { kind, error };
}

function cut(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

/**
 * ` (code: message)` from a Genesys error body `{message, code, ...}` (genesys-api.md §3), or ''.
 * Only the server's own `code` and `message` fields are used (truncated), never a request echo.
 */
export function describeErrorBody(body: unknown): string {
  if (typeof body !== 'object' || body === null) return '';
  const { code, message } = body as { code?: unknown; message?: unknown };
  const parts = [code, message].filter((x): x is string => typeof x === 'string' && x !== '');
  return parts.length > 0 ? ` (${cut(parts.join(': '))})` : '';
}

/**
 * The outcome of an HTTP answer (design rule 4):
 *
 * | status | outcome |
 * |---|---|
 * | 2xx, 409 | delivered (409: the idempotency key was already accepted) |
 * | 408 | retry, code `timeout` |
 * | 425, 5xx | retry, code `server-error` |
 * | 429 | rate-limited for the parsed `Retry-After` (capped to `maxRetryAfterMs`); without a usable header: retry, code `rate-limited` (backoff applies) |
 * | 3xx (redirects are never followed for a delivery) | rejected, code `redirected` |
 * | 401 | reauth, code `auth-failed` |
 * | other 4xx (400, 403, 404, 413, 422, …) | rejected, code `rejected` |
 * | anything else (1xx, nonsense) | retry, code `unknown` |
 *
 * `body` may be the parsed response body; its Genesys `code`/`message` are added to the error message.
 */
export function classifyHttpStatus(
  status: number,
  retryAfterHeader: string | null,
  nowMs: number,
  opts: { maxRetryAfterMs: number },
  body?: unknown,
): SendOutcome {
  if ((status >= 200 && status < 300) || status === 409) return { kind: 'delivered' };
  const message = `HTTP ${status}${describeErrorBody(body)}`;
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(retryAfterHeader, nowMs, opts.maxRetryAfterMs);
    const error: ErrorInfo = { code: 'rate-limited', message, status };
    return retryAfterMs === undefined
      ? { kind: 'retry', error }
      : { kind: 'rate-limited', retryAfterMs, error };
  }
  if (status === 408) return fail('retry', 'timeout', message, status);
  if (status === 425 || (status >= 500 && status < 600))
    return fail('retry', 'server-error', message, status);
  if (status === 401) return fail('reauth', 'auth-failed', message, status);
  // A POST answered by a redirect was not delivered (fetch would re-send it as a GET).
  if (status >= 300 && status < 400) return fail('rejected', 'redirected', message, status);
  if (status >= 400 && status < 500) return fail('rejected', 'rejected', message, status);
  return fail('retry', 'unknown', message, status);
}

// Node (undici) error codes, found on the error or its `cause`.
const NOT_SENT =
  /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ENETUNREACH|ENETDOWN|EHOSTUNREACH|EHOSTDOWN|UND_ERR_CONNECT_TIMEOUT)$/;
const MAYBE_SENT =
  /^(ECONNRESET|EPIPE|ETIMEDOUT|UND_ERR_SOCKET|UND_ERR_CLOSED|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT)$/;

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/**
 * The outcome of a request that threw before an HTTP answer arrived:
 *
 * - `AbortError` / `TimeoutError` → retry, code `timeout` (the request may have reached the server);
 * - connection reset / socket closed mid-request → retry, code `network` (it may have reached the server);
 * - refused, DNS failure, unreachable, and the generic fetch `TypeError` ("fetch failed",
 *   "Failed to fetch", "Load failed", "NetworkError …") → offline, code `network` (nothing was sent);
 * - anything else (a programming error, an invalid URL) → retry, code `unknown`, so it spends
 *   attempts and ends `expired` instead of being retried for free forever.
 */
export function classifyNetworkError(error: unknown): SendOutcome {
  const name = field(error, 'name');
  const code = String(field(error, 'code') ?? field(field(error, 'cause'), 'code') ?? '');
  const detail = cut(String(field(error, 'message') ?? error));
  if (name === 'AbortError' || name === 'TimeoutError')
    return fail('retry', 'timeout', `request timed out or was aborted`);
  if (MAYBE_SENT.test(code)) return fail('retry', 'network', `connection lost (${code})`);
  if (NOT_SENT.test(code)) return fail('offline', 'network', `network unreachable (${code})`);
  if (error instanceof TypeError && !code.startsWith('ERR_INVALID')) {
    return fail('offline', 'network', `network unreachable (${detail})`);
  }
  return fail('retry', 'unknown', `unexpected error: ${detail}`);
}

/**
 * The outcome of a Web Messaging guest error frame `{type:'response', class, code, body}`
 * (genesys-api.md §4):
 *
 * | code | outcome |
 * |---|---|
 * | 4006, 4007 | reauth, code `session-expired` (configure the session again) |
 * | 4011 | rejected, code `message-too-long` |
 * | 4000–4010, 4012–4028, 4030–4999 (e.g. 4013 custom attributes too large, 4020 missing parameter) | rejected |
 * | 429, 4029 | rate-limited for `body.retryAfter` seconds (capped); without it: retry, code `rate-limited` |
 * | 5000 and above, 500–599 | retry, code `server-error` |
 * | 403 with "Session authentication failed" | reauth, code `auth-failed` |
 * | 400 "Deployment not found" (also on configureSession) | rejected, code `unknown-deployment` |
 * | 400, 403 and anything else | rejected |
 */
export function classifyGuestError(
  code: number,
  body: unknown,
  opts: { maxRetryAfterMs?: number } = {},
): SendOutcome {
  const text = typeof body === 'string' ? body : field(body, 'errorMessage');
  const message = `guest error ${code}${typeof text === 'string' && text !== '' ? ` (${cut(text)})` : ''}`;
  if (code === 429 || code === 4029 || field(body, 'errorCode') === 4029) {
    const seconds = field(body, 'retryAfter');
    const error: ErrorInfo = { code: 'rate-limited', message, status: code };
    if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0) {
      const retryAfterMs = Math.min(Math.ceil(seconds * 1000), opts.maxRetryAfterMs ?? 3_600_000);
      return { kind: 'rate-limited', retryAfterMs, error };
    }
    return { kind: 'retry', error };
  }
  if (code === 4006 || code === 4007) return fail('reauth', 'session-expired', message, code);
  if (code === 4011) return fail('rejected', 'message-too-long', message, code);
  if (code >= 5000 || (code >= 500 && code < 600))
    return fail('retry', 'server-error', message, code);
  if (code === 403 && typeof text === 'string' && /session authentication failed/i.test(text)) {
    return fail('reauth', 'auth-failed', message, code);
  }
  if (typeof text === 'string' && /deployment not found/i.test(text)) {
    return fail('rejected', 'unknown-deployment', 'check deploymentId', code);
  }
  return fail('rejected', 'rejected', message, code);
}
