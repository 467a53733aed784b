import { describe, expect, it } from 'vitest';
import {
  classifyGuestError,
  classifyHttpStatus,
  classifyNetworkError,
  describeErrorBody,
} from '../../src/retry/classify.js';

const opts = { maxRetryAfterMs: 3_600_000 };
const http = (status: number, retryAfter: string | null = null, body?: unknown) =>
  classifyHttpStatus(status, retryAfter, 1_000_000, opts, body);

describe('classifyHttpStatus', () => {
  it('2xx and 409 are delivered', () => {
    for (const s of [200, 201, 202, 204, 299, 409]) expect(http(s)).toEqual({ kind: 'delivered' });
  });

  it('408 is a retry with code timeout', () => {
    expect(http(408)).toEqual({
      kind: 'retry',
      error: { code: 'timeout', message: 'HTTP 408', status: 408 },
    });
  });

  it('425 and every 5xx are retries with code server-error', () => {
    for (const s of [425, 500, 502, 503, 504, 599]) {
      expect(http(s)).toEqual({
        kind: 'retry',
        error: { code: 'server-error', message: `HTTP ${s}`, status: s },
      });
    }
  });

  it('429 with delay-seconds waits exactly that', () => {
    expect(http(429, '42')).toEqual({
      kind: 'rate-limited',
      retryAfterMs: 42_000,
      error: { code: 'rate-limited', message: 'HTTP 429', status: 429 },
    });
  });

  it('429 with an HTTP-date waits until then, measured from nowMs', () => {
    const at = new Date(1_000_000 + 30_000).toUTCString();
    expect(http(429, at)).toMatchObject({ kind: 'rate-limited', retryAfterMs: 30_000 });
  });

  it('429 Retry-After is capped at maxRetryAfterMs, not at the backoff cap', () => {
    expect(classifyHttpStatus(429, '7200', 0, { maxRetryAfterMs: 3_600_000 })).toMatchObject({
      kind: 'rate-limited',
      retryAfterMs: 3_600_000,
    });
    expect(classifyHttpStatus(429, '120', 0, { maxRetryAfterMs: 3_600_000 })).toMatchObject({
      retryAfterMs: 120_000,
    });
  });

  it('429 without a usable Retry-After falls back to backoff (retry, code rate-limited)', () => {
    for (const h of [null, '', 'soon', '-5', '1.5']) {
      expect(http(429, h)).toEqual({
        kind: 'retry',
        error: { code: 'rate-limited', message: 'HTTP 429', status: 429 },
      });
    }
  });

  it('401 asks for re-authentication', () => {
    expect(http(401)).toEqual({
      kind: 'reauth',
      error: { code: 'auth-failed', message: 'HTTP 401', status: 401 },
    });
  });

  it('400, 403, 404, 413, 422 and other 4xx are rejected (kept as failed)', () => {
    for (const s of [400, 402, 403, 404, 405, 410, 413, 415, 422, 451, 499]) {
      expect(http(s)).toEqual({
        kind: 'rejected',
        error: { code: 'rejected', message: `HTTP ${s}`, status: s },
      });
    }
  });

  it('a 3xx is not a delivery: rejected with code redirected (issue 10 #7)', () => {
    for (const s of [300, 301, 302, 303, 304, 307, 308]) {
      expect(http(s)).toEqual({
        kind: 'rejected',
        error: { code: 'redirected', message: `HTTP ${s}`, status: s },
      });
    }
  });

  it('1xx and nonsense statuses are retried with code unknown (they spend attempts)', () => {
    for (const s of [0, 100, 101, 600, 999]) {
      expect(http(s)).toEqual({
        kind: 'retry',
        error: { code: 'unknown', message: `HTTP ${s}`, status: s },
      });
    }
  });

  it('adds the Genesys error code and message from the body', () => {
    const body = {
      message: 'Rate limit exceeded the maximum. Retry the request in [42] seconds',
      code: 'too.many.requests.retry.after',
      status: 429,
      contextId: 'c',
      details: [],
      errors: [],
    };
    expect(http(429, '42', body)).toEqual({
      kind: 'rate-limited',
      retryAfterMs: 42_000,
      error: {
        code: 'rate-limited',
        message:
          'HTTP 429 (too.many.requests.retry.after: Rate limit exceeded the maximum. Retry the request in [42] seconds)',
        status: 429,
      },
    });
    expect(http(400, null, { code: 'bad.request', message: 'Invalid channel' })).toEqual({
      kind: 'rejected',
      error: { code: 'rejected', message: 'HTTP 400 (bad.request: Invalid channel)', status: 400 },
    });
    expect(http(404, null, { code: 'not.found' }).kind).toBe('rejected');
    expect(http(404, null, { code: 'not.found' })).toMatchObject({
      error: { message: 'HTTP 404 (not.found)' },
    });
  });

  it('ignores bodies that are not Genesys-shaped, and never copies other fields (e.g. the text)', () => {
    for (const body of [
      undefined,
      null,
      'text',
      42,
      [],
      { text: 'secret user text' },
      { code: 7 },
    ]) {
      expect(http(500, null, body)).toMatchObject({ error: { message: 'HTTP 500' } });
    }
  });

  it('truncates a long server message', () => {
    const message = describeErrorBody({ message: 'x'.repeat(1000) });
    expect(message).toBe(` (${'x'.repeat(200)}…)`);
  });
});

describe('classifyNetworkError', () => {
  const named = (name: string) => Object.assign(new Error('x'), { name });
  const withCause = (code: string) =>
    new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });

  it('AbortError and TimeoutError are retries with code timeout (the request may have arrived)', () => {
    for (const e of [
      named('AbortError'),
      named('TimeoutError'),
      new DOMException('aborted', 'AbortError'),
    ]) {
      expect(classifyNetworkError(e)).toEqual({
        kind: 'retry',
        error: { code: 'timeout', message: 'request timed out or was aborted' },
      });
    }
  });

  it('refused, DNS and unreachable are offline with code network', () => {
    for (const c of [
      'ECONNREFUSED',
      'ENOTFOUND',
      'EAI_AGAIN',
      'ENETUNREACH',
      'EHOSTUNREACH',
      'UND_ERR_CONNECT_TIMEOUT',
    ]) {
      expect(classifyNetworkError(withCause(c))).toEqual({
        kind: 'offline',
        error: { code: 'network', message: `network unreachable (${c})` },
      });
    }
    const direct = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(classifyNetworkError(direct).kind).toBe('offline');
  });

  it('browser fetch TypeErrors are offline', () => {
    for (const m of [
      'Failed to fetch',
      'Load failed',
      'NetworkError when attempting to fetch resource.',
      'fetch failed',
    ]) {
      expect(classifyNetworkError(new TypeError(m))).toEqual({
        kind: 'offline',
        error: { code: 'network', message: `network unreachable (${m})` },
      });
    }
  });

  it('a connection lost mid-request is a retry with code network (it may have arrived)', () => {
    for (const c of ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']) {
      expect(classifyNetworkError(withCause(c))).toEqual({
        kind: 'retry',
        error: { code: 'network', message: `connection lost (${c})` },
      });
    }
  });

  it('programming errors and invalid URLs are retries with code unknown, not free offline retries', () => {
    expect(classifyNetworkError(new RangeError('boom'))).toEqual({
      kind: 'retry',
      error: { code: 'unknown', message: 'unexpected error: boom' },
    });
    const badUrl = new TypeError('Failed to parse URL from /x', {
      cause: Object.assign(new TypeError('Invalid URL'), { code: 'ERR_INVALID_URL' }),
    });
    expect(classifyNetworkError(badUrl)).toMatchObject({
      kind: 'retry',
      error: { code: 'unknown' },
    });
    expect(classifyNetworkError('a string')).toEqual({
      kind: 'retry',
      error: { code: 'unknown', message: 'unexpected error: a string' },
    });
    expect(classifyNetworkError(undefined)).toMatchObject({
      kind: 'retry',
      error: { code: 'unknown' },
    });
  });
});

describe('classifyGuestError', () => {
  it('400 "Deployment not found" is rejected as unknown-deployment, naming the setting', () => {
    const o = classifyGuestError(400, 'Deployment not found');
    expect(o).toMatchObject({
      kind: 'rejected',
      error: { code: 'unknown-deployment', status: 400 },
    });
    expect(o.kind === 'rejected' && o.error.message).toMatch(/deploymentId/);
  });

  it('4006 and 4007 re-configure the session', () => {
    expect(classifyGuestError(4006, 'Session has expired')).toEqual({
      kind: 'reauth',
      error: {
        code: 'session-expired',
        message: 'guest error 4006 (Session has expired)',
        status: 4006,
      },
    });
    expect(classifyGuestError(4007, 'Session not found')).toEqual({
      kind: 'reauth',
      error: {
        code: 'session-expired',
        message: 'guest error 4007 (Session not found)',
        status: 4007,
      },
    });
  });

  it('4011 is rejected as message-too-long', () => {
    expect(classifyGuestError(4011, 'Message exceeded max length')).toEqual({
      kind: 'rejected',
      error: {
        code: 'message-too-long',
        message: 'guest error 4011 (Message exceeded max length)',
        status: 4011,
      },
    });
  });

  it('4013, 4020 and 4000–4010 (except 4006/4007) are rejected', () => {
    for (const c of [4000, 4001, 4002, 4003, 4004, 4005, 4008, 4009, 4010, 4013, 4020]) {
      expect(classifyGuestError(c, 'x')).toEqual({
        kind: 'rejected',
        error: { code: 'rejected', message: `guest error ${c} (x)`, status: c },
      });
    }
  });

  it('5000 and higher are retried with code server-error', () => {
    for (const c of [5000, 5001, 5999]) {
      expect(classifyGuestError(c, 'Unexpected error')).toEqual({
        kind: 'retry',
        error: { code: 'server-error', message: `guest error ${c} (Unexpected error)`, status: c },
      });
    }
  });

  it('500–599 (HTTP-style server errors) are retried too', () => {
    expect(classifyGuestError(503, '')).toEqual({
      kind: 'retry',
      error: { code: 'server-error', message: 'guest error 503', status: 503 },
    });
  });

  it('400 is rejected', () => {
    expect(classifyGuestError(400, 'Request failed.')).toEqual({
      kind: 'rejected',
      error: { code: 'rejected', message: 'guest error 400 (Request failed.)', status: 400 },
    });
  });

  it('403 "Session authentication failed" re-authenticates; any other 403 is rejected', () => {
    expect(classifyGuestError(403, 'Session authentication failed')).toEqual({
      kind: 'reauth',
      error: {
        code: 'auth-failed',
        message: 'guest error 403 (Session authentication failed)',
        status: 403,
      },
    });
    expect(classifyGuestError(403, 'session authentication failed: token mismatch').kind).toBe(
      'reauth',
    );
    expect(classifyGuestError(403, 'Feature is not enabled')).toEqual({
      kind: 'rejected',
      error: { code: 'rejected', message: 'guest error 403 (Feature is not enabled)', status: 403 },
    });
    expect(classifyGuestError(403, undefined).kind).toBe('rejected');
  });

  it('429 / 4029 with retryAfter seconds waits exactly that', () => {
    const body = {
      retryAfter: 3,
      errorCode: 4029,
      errorMessage: 'Message rate too high for this session',
    };
    expect(classifyGuestError(429, body)).toEqual({
      kind: 'rate-limited',
      retryAfterMs: 3000,
      error: {
        code: 'rate-limited',
        message: 'guest error 429 (Message rate too high for this session)',
        status: 429,
      },
    });
    expect(classifyGuestError(4029, { retryAfter: 0.5 })).toEqual({
      kind: 'rate-limited',
      retryAfterMs: 500,
      error: { code: 'rate-limited', message: 'guest error 4029', status: 4029 },
    });
    expect(classifyGuestError(429, { retryAfter: 0 })).toMatchObject({
      kind: 'rate-limited',
      retryAfterMs: 0,
    });
  });

  it('rate-limit waits are capped (default 1 hour, or maxRetryAfterMs)', () => {
    expect(classifyGuestError(429, { retryAfter: 999_999 })).toMatchObject({
      retryAfterMs: 3_600_000,
    });
    expect(classifyGuestError(429, { retryAfter: 60 }, { maxRetryAfterMs: 10_000 })).toMatchObject({
      retryAfterMs: 10_000,
    });
  });

  it('429 / 4029 without a usable retryAfter backs off (retry, code rate-limited)', () => {
    for (const body of [
      undefined,
      {},
      { retryAfter: '3' },
      { retryAfter: -1 },
      { retryAfter: Number.NaN },
      'slow down',
    ]) {
      expect(classifyGuestError(429, body)).toMatchObject({
        kind: 'retry',
        error: { code: 'rate-limited', status: 429 },
      });
    }
    expect(classifyGuestError(4029, {})).toMatchObject({
      kind: 'retry',
      error: { code: 'rate-limited' },
    });
  });

  it('unknown codes: >= 5000 retry, others rejected', () => {
    expect(classifyGuestError(7000, 'x').kind).toBe('retry');
    for (const c of [0, 200, 404, 4999, 4500, 4100, 1000]) {
      expect(classifyGuestError(c, 'x'), String(c)).toMatchObject({
        kind: 'rejected',
        error: { code: 'rejected' },
      });
    }
  });
});
