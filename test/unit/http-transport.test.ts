import type { ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { httpTransport, type HttpTransportOptions } from '../../src/transport/http.js';
import { openMessagingTransport } from '../../src/transport/openMessaging.js';
import { nodeFetch } from '../../src/transport/nodeFetch.js';
import { OutboxError } from '../../src/errors/OutboxError.js';
import type { OutboxEntry } from '../../src/outbox/entry.js';
import type { SendContext, Transport, TransportContext } from '../../src/transport/Transport.js';
import type { TokenProvider } from '../../src/auth/tokenProvider.js';
import { silentLogger } from '../../src/internal/logger.js';
import { thrownCode } from '../helpers/errorCode.js';
import {
  json,
  refusedUrl,
  startTestHttpServer,
  type TestHttpServer,
} from './support/testHttpServer.js';

let server: TestHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  client = undefined;
});

const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const entry = (extra: Partial<OutboxEntry> = {}): OutboxEntry => ({
  id: ID,
  conversationId: 'conv-1',
  text: 'Hello there',
  status: 'sending',
  attempts: 0,
  createdAt: Date.UTC(2024, 0, 1, 12, 0, 0),
  ...extra,
});
const sendContext = (signal = new AbortController().signal): SendContext => ({
  signal,
  attempt: 1,
  inDoubt: false,
});

/** Starts the transport with a context that records connectivity reports and has a fixed clock. */
async function started(transport: Transport, now = 1_000_000): Promise<boolean[]> {
  const reports: boolean[] = [];
  const context = {
    clock: { now: () => now, setTimeout: () => 0, clearTimeout: () => {} },
    logger: silentLogger,
    random: () => 0.5,
    wake: () => {},
    reportConnectivity: (online: boolean) => reports.push(online),
    signal: new AbortController().signal,
  } as unknown as TransportContext;
  await transport.start?.(context);
  return reports;
}

/** A token provider that hands out t1, t2, ... and records invalidations. */
function countingTokens(): TokenProvider & {
  fetched: number;
  invalidated: (string | undefined)[];
} {
  let current: string | undefined;
  const p = {
    fetched: 0,
    invalidated: [] as (string | undefined)[],
    getToken: async () => (current ??= `t${++p.fetched}`),
    invalidate: (token?: string) => {
      p.invalidated.push(token);
      if (token === undefined || token === current) current = undefined;
    },
  };
  return p;
}

async function serve(...answers: ((res: ServerResponse) => void)[]): Promise<TestHttpServer> {
  server = await startTestHttpServer((_req, res, i) =>
    (answers[Math.min(i, answers.length - 1)] ?? (() => {}))(res),
  );
  return server;
}

/**
 * The request shape and outcome rules hold with both HTTP clients: the global fetch (undici) and
 * nodeFetch (node:http, openMessagingTransport's default in Node).
 */
const clients = [
  ['global fetch', undefined],
  ['nodeFetch', nodeFetch],
] as const;
let client: typeof fetch | undefined;
const withClient = (): Partial<HttpTransportOptions> => (client ? { fetch: client } : {});

function transportFor(s: TestHttpServer, options: Partial<HttpTransportOptions> = {}): Transport {
  return httpTransport({
    url: `${s.url}/api/v2/conversations/messaging/messages`,
    ...withClient(),
    ...options,
  });
}

describe.each(clients)('httpTransport: request shape (%s)', (_label, c) => {
  beforeEach(() => {
    client = c;
  });
  it('POSTs the tutorial body (guestId from metadata) with the exact Bearer header', async () => {
    const s = await serve((res) => json(res, 200, { ok: true }));
    const t = transportFor(s, { getAccessToken: () => 'abc.def' });
    const outcome = await t.send(
      entry({ metadata: { guestId: 'g-7', other: 'x' } }),
      sendContext(),
    );
    expect(outcome).toEqual({ kind: 'delivered' });
    const [req] = s.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/api/v2/conversations/messaging/messages');
    expect(req?.headers.authorization).toBe('Bearer abc.def');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.body).toBe(
      JSON.stringify({
        guestId: 'g-7',
        conversationId: 'conv-1',
        text: 'Hello there',
        externalId: ID,
      }),
    );
  });

  it('omits guestId when absent and sends no Authorization header without a token source', async () => {
    const s = await serve((res) => json(res, 204, undefined));
    const outcome = await transportFor(s).send(entry(), sendContext());
    expect(outcome).toEqual({ kind: 'delivered' });
    expect(JSON.parse(s.requests[0]?.body ?? '')).toEqual({
      conversationId: 'conv-1',
      text: 'Hello there',
      externalId: ID,
    });
    expect(s.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('the body option overrides the body; headers are added', async () => {
    const s = await serve((res) => json(res, 200, {}));
    const t = transportFor(s, {
      body: (e) => ({ id: e.id, msg: e.text }),
      headers: { 'X-Api-Key': 'k' },
    });
    await t.send(entry(), sendContext());
    expect(s.requests[0]?.body).toBe(JSON.stringify({ id: ID, msg: 'Hello there' }));
    expect(s.requests[0]?.headers['x-api-key']).toBe('k');
  });

  it('a body option that throws rejects the entry instead of throwing', async () => {
    const s = await serve((res) => json(res, 200, {}));
    const t = transportFor(s, {
      body: () => {
        throw new Error('boom');
      },
    });
    expect(await t.send(entry(), sendContext())).toEqual({
      kind: 'rejected',
      error: { code: 'invalid-options', message: 'the body option failed (Error)' },
    });
    expect(s.requests).toHaveLength(0);
  });

  it('reports the server id of a delivered message', async () => {
    const s = await serve((res) => json(res, 200, { id: 'srv-1' }));
    expect(await transportFor(s).send(entry(), sendContext())).toEqual({
      kind: 'delivered',
      serverId: 'srv-1',
    });
  });
});

describe.each(clients)('httpTransport: outcomes (%s)', (_label, c) => {
  beforeEach(() => {
    client = c;
  });
  it('2xx is delivered and reports online', async () => {
    const s = await serve((res) => json(res, 201, {}));
    const t = transportFor(s);
    const reports = await started(t);
    expect(await t.send(entry(), sendContext())).toEqual({ kind: 'delivered' });
    expect(reports).toEqual([true]);
  });

  it('409 is delivered (already there)', async () => {
    const s = await serve((res) =>
      json(res, 409, { code: 'conflict', message: 'duplicate', id: 'ignored' }),
    );
    expect(await transportFor(s).send(entry(), sendContext())).toEqual({ kind: 'delivered' });
  });

  it('401 once: the token is invalidated, fetched again, and the send retried at once', async () => {
    const s = await serve(
      (res) => json(res, 401, { code: 'bad.credentials', message: 'expired' }),
      (res) => json(res, 200, {}),
    );
    const tokens = countingTokens();
    const t = transportFor(s, { getAccessToken: tokens });
    expect(await t.send(entry(), sendContext())).toEqual({ kind: 'delivered' });
    expect(tokens.fetched).toBe(2);
    expect(tokens.invalidated).toEqual(['t1']);
    expect(s.requests.map((r) => r.headers.authorization)).toEqual(['Bearer t1', 'Bearer t2']);
  });

  it('a getAccessToken function is cached by the sender: one call for two posts, one more after a 401', async () => {
    const s = await serve(
      (res) => json(res, 200, {}),
      (res) => json(res, 401, {}),
      (res) => json(res, 200, {}),
    );
    let calls = 0;
    const t = transportFor(s, { getAccessToken: () => `f${++calls}` });
    expect(await t.send(entry(), sendContext())).toEqual({ kind: 'delivered' });
    expect(await t.send(entry(), sendContext())).toEqual({ kind: 'delivered' });
    expect(calls).toBe(2);
    expect(s.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer f1',
      'Bearer f1',
      'Bearer f2',
    ]);
    expect(
      thrownCode(() =>
        httpTransport({ url: '/x', getAccessToken: { getToken: () => 'x' } as never }),
      ),
    ).toBe('invalid-options');
  });

  it('401 twice: outcome reauth (and the second token is invalidated too)', async () => {
    const s = await serve((res) => json(res, 401, { code: 'bad.credentials', message: 'nope' }));
    const tokens = countingTokens();
    const t = transportFor(s, { getAccessToken: tokens });
    expect(await t.send(entry(), sendContext())).toEqual({
      kind: 'reauth',
      error: { code: 'auth-failed', message: 'HTTP 401 (bad.credentials: nope)', status: 401 },
    });
    expect(s.requests).toHaveLength(2);
    expect(tokens.fetched).toBe(2);
    expect(tokens.invalidated).toEqual(['t1', 't2']);
  });

  it('401 without a token source: reauth after one request', async () => {
    const s = await serve((res) => json(res, 401, {}));
    expect(await transportFor(s).send(entry(), sendContext())).toMatchObject({ kind: 'reauth' });
    expect(s.requests).toHaveLength(1);
  });

  it('429 with Retry-After seconds: rate-limited for exactly that', async () => {
    const s = await serve((res) =>
      json(
        res,
        429,
        { message: 'Rate limit exceeded', code: 'too.many.requests.retry.after', status: 429 },
        { 'Retry-After': '42' },
      ),
    );
    expect(await transportFor(s).send(entry(), sendContext())).toEqual({
      kind: 'rate-limited',
      retryAfterMs: 42_000,
      error: {
        code: 'rate-limited',
        message: 'HTTP 429 (too.many.requests.retry.after: Rate limit exceeded)',
        status: 429,
      },
    });
  });

  it('429 with an HTTP-date: rate-limited until then, measured on the injected clock', async () => {
    const now = Date.UTC(2030, 5, 1, 10, 0, 0);
    const s = await serve((res) =>
      json(res, 429, {}, { 'Retry-After': new Date(now + 75_000).toUTCString() }),
    );
    const t = transportFor(s);
    await started(t, now);
    expect(await t.send(entry(), sendContext())).toMatchObject({
      kind: 'rate-limited',
      retryAfterMs: 75_000,
    });
  });

  it('429 Retry-After is capped by maxRetryAfterMs', async () => {
    const s = await serve((res) => json(res, 429, {}, { 'Retry-After': '86400' }));
    expect(
      await transportFor(s, { maxRetryAfterMs: 5000 }).send(entry(), sendContext()),
    ).toMatchObject({
      kind: 'rate-limited',
      retryAfterMs: 5000,
    });
  });

  it('500 is a retry with code server-error', async () => {
    const s = await serve((res) =>
      json(res, 500, { code: 'internal.server.error', message: 'oops' }),
    );
    expect(await transportFor(s).send(entry(), sendContext())).toEqual({
      kind: 'retry',
      error: {
        code: 'server-error',
        message: 'HTTP 500 (internal.server.error: oops)',
        status: 500,
      },
    });
  });

  it('400 is rejected (and a non-JSON body is tolerated)', async () => {
    const s = await serve((res) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('bad');
    });
    expect(await transportFor(s).send(entry(), sendContext())).toEqual({
      kind: 'rejected',
      error: { code: 'rejected', message: 'HTTP 400', status: 400 },
    });
  });

  it('a hanging server: retry with code timeout', async () => {
    const s = await serve(() => {}); // never answers
    const t = transportFor(s, { timeoutMs: 50 });
    const reports = await started(t);
    expect(await t.send(entry(), sendContext())).toEqual({
      kind: 'retry',
      error: { code: 'timeout', message: 'request timed out after 50 ms' },
    });
    expect(reports).toEqual([]);
  });

  it('aborting the send context settles promptly as a timeout retry', async () => {
    const s = await serve(() => {});
    const controller = new AbortController();
    const pending = transportFor(s).send(entry(), sendContext(controller.signal));
    setTimeout(() => controller.abort(), 20);
    expect(await pending).toEqual({
      kind: 'retry',
      error: { code: 'timeout', message: 'request aborted (outbox closing)' },
    });
  });

  it('an already-aborted context sends nothing', async () => {
    const s = await serve((res) => json(res, 200, {}));
    const controller = new AbortController();
    controller.abort();
    expect(await transportFor(s).send(entry(), sendContext(controller.signal))).toMatchObject({
      kind: 'retry',
      error: { code: 'timeout' },
    });
    expect(s.requests).toHaveLength(0);
  });

  it('a refused connection is offline and reports offline', async () => {
    const t = httpTransport({ url: await refusedUrl(), ...withClient() });
    const reports = await started(t);
    expect(await t.send(entry(), sendContext())).toEqual({
      kind: 'offline',
      error: { code: 'network', message: 'network unreachable (ECONNREFUSED)' },
    });
    expect(reports).toEqual([false]);
  });
});

describe('httpTransport: token failures never throw out of send', () => {
  it('a provider throwing a network OutboxError: offline, nothing sent', async () => {
    const s = await serve((res) => json(res, 200, {}));
    const t = transportFor(s, {
      getAccessToken: () =>
        Promise.reject(new OutboxError('network', 'token request failed: network error')),
    });
    const reports = await started(t);
    expect(await t.send(entry(), sendContext())).toEqual({
      kind: 'offline',
      error: { code: 'network', message: 'token request failed: network error' },
    });
    expect(reports).toEqual([false]);
    expect(s.requests).toHaveLength(0);
  });

  it('a provider failing with auth-failed: retry with that error', async () => {
    const s = await serve((res) => json(res, 200, {}));
    const t = transportFor(s, {
      getAccessToken: {
        getToken: () =>
          Promise.reject(
            new OutboxError('auth-failed', 'token request failed with HTTP 401', { status: 401 }),
          ),
        invalidate: () => {},
      },
    });
    expect(await t.send(entry(), sendContext())).toEqual({
      kind: 'retry',
      error: { code: 'auth-failed', message: 'token request failed with HTTP 401', status: 401 },
    });
  });

  it('a callback throwing a fetch TypeError (offline) is offline; any other error is an auth-failed retry', async () => {
    const s = await serve((res) => json(res, 200, {}));
    const offline = transportFor(s, {
      getAccessToken: () => {
        throw new TypeError('Failed to fetch');
      },
    });
    expect(await offline.send(entry(), sendContext())).toMatchObject({
      kind: 'offline',
      error: { code: 'network' },
    });
    const buggy = transportFor(s, {
      getAccessToken: () => {
        throw new Error('my backend said no');
      },
    });
    expect(await buggy.send(entry(), sendContext())).toEqual({
      kind: 'retry',
      error: { code: 'auth-failed', message: 'access token unavailable' },
    });
    expect(s.requests).toHaveLength(0);
  });

  it('a token that never comes ends the attempt after timeoutMs (retry, timeout), and at once on abort', async () => {
    const s = await serve((res) => json(res, 200, {}));
    const t = transportFor(s, {
      getAccessToken: () => new Promise<string>(() => {}),
      timeoutMs: 300,
    });
    const started = Date.now();
    // Before: the attempt waited as long as the provider did (here: forever; clientCredentials:
    // its own 15 s, twice around a 401), the head 'sending' all that time.
    expect(await t.send(entry(), sendContext())).toMatchObject({
      kind: 'retry',
      error: { code: 'timeout' },
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    const stop = new AbortController();
    const aborted = t.send(entry(), sendContext(stop.signal));
    stop.abort();
    expect(await aborted).toMatchObject({ kind: 'retry', error: { code: 'timeout' } });
    expect(s.requests).toHaveLength(0);
  });

  it('a token failure during the 401 refresh is classified too', async () => {
    const s = await serve((res) => json(res, 401, {}));
    let calls = 0;
    const t = transportFor(s, {
      getAccessToken: () => {
        if (++calls > 1) throw new OutboxError('auth-failed', 'revoked client');
        return 'first';
      },
    });
    expect(await t.send(entry(), sendContext())).toEqual({
      kind: 'retry',
      error: { code: 'auth-failed', message: 'revoked client' },
    });
  });
});

describe('httpTransport: options', () => {
  it('validates with invalid-options', () => {
    // Relative: fine where there is a page or a fetch of the caller's own; Node's fetch cannot.
    expect(thrownCode(() => httpTransport({ url: '/relative/ok' }))).toBe('invalid-options');
    expect(thrownCode(() => httpTransport({ url: '/relative/ok', fetch: globalThis.fetch }))).toBe(
      'no error',
    );
    expect(thrownCode(() => httpTransport({ url: '' }))).toBe('invalid-options');
    expect(thrownCode(() => httpTransport(undefined as never))).toBe('invalid-options');
    expect(thrownCode(() => httpTransport({ url: '/x', timeoutMs: 0 }))).toBe('invalid-options');
    expect(thrownCode(() => httpTransport({ url: '/x', concurrency: 0 }))).toBe('invalid-options');
    expect(thrownCode(() => httpTransport({ url: '/x', concurrency: 1.5 }))).toBe(
      'invalid-options',
    );
    expect(thrownCode(() => httpTransport({ url: '/x', maxRetryAfterMs: -1 }))).toBe(
      'invalid-options',
    );
    expect(thrownCode(() => httpTransport({ url: '/x', body: 'no' as never }))).toBe(
      'invalid-options',
    );
    expect(thrownCode(() => httpTransport({ url: '/x', fetch: 'no' as never }))).toBe(
      'invalid-options',
    );
    expect(thrownCode(() => httpTransport({ url: '/x', headers: { a: 1 } as never }))).toBe(
      'invalid-options',
    );
    expect(thrownCode(() => httpTransport({ url: '/x', getAccessToken: 'tok' as never }))).toBe(
      'invalid-options',
    );
  });

  it('has a name and a concurrency (default 4)', () => {
    expect(httpTransport({ url: 'http://h/x' })).toMatchObject({ name: 'http', concurrency: 4 });
    expect(httpTransport({ url: 'http://h/x', concurrency: 2, name: 'relay' })).toMatchObject({
      name: 'relay',
      concurrency: 2,
    });
  });
});

describe('openMessagingTransport', () => {
  it('POSTs the Open Messaging inbound body to the integration path with the Bearer token', async () => {
    const s = await serve((res) =>
      json(res, 202, { id: 'gen-1', channel: { messageId: ID }, type: 'Text' }),
    );
    const t = openMessagingTransport({
      apiUrl: `${s.url}/`,
      integrationId: 'int 1',
      tokenProvider: () => 'om-token',
    });
    expect(t.name).toBe('open-messaging');
    expect(await t.send(entry({ metadata: { fromId: 'user-9' } }), sendContext())).toEqual({
      kind: 'delivered',
      serverId: 'gen-1',
    });
    const [req] = s.requests;
    expect(req?.url).toBe('/api/v2/conversations/messages/int%201/inbound/open/message');
    expect(req?.headers.authorization).toBe('Bearer om-token');
    expect(req?.body).toBe(
      JSON.stringify({
        channel: {
          messageId: ID,
          time: '2024-01-01T12:00:00.000Z',
          from: { id: 'user-9', idType: 'Opaque' },
        },
        text: 'Hello there',
      }),
    );
  });

  it("uses Node's HTTP client by default, not the global fetch (a relay's CPU per delivery); fetch: globalThis.fetch opts back", async () => {
    const s = await serve((res) => json(res, 202, { id: 'gen-2' }));
    const global = globalThis.fetch;
    let globalCalls = 0;
    globalThis.fetch = (...args: Parameters<typeof fetch>) => {
      globalCalls++;
      return global(...args);
    };
    try {
      const t = openMessagingTransport({
        apiUrl: s.url,
        integrationId: 'i',
        tokenProvider: () => 'x',
      });
      expect(await t.send(entry(), sendContext())).toEqual({
        kind: 'delivered',
        serverId: 'gen-2',
      });
      await t.postReceipt({ id: 'm1', to: { id: 'conv-1' }, status: 'Delivered' });
      expect(s.requests.map((r) => r.url)).toEqual([
        '/api/v2/conversations/messages/i/inbound/open/message',
        '/api/v2/conversations/messages/i/inbound/open/receipt',
      ]);
      expect(globalCalls).toBe(0);
      const own = openMessagingTransport({
        apiUrl: s.url,
        integrationId: 'i',
        tokenProvider: () => 'x',
        fetch: globalThis.fetch,
      });
      expect(await own.send(entry(), sendContext())).toMatchObject({ kind: 'delivered' });
      expect(globalCalls).toBe(1);
    } finally {
      globalThis.fetch = global;
    }
  });

  it('from defaults to the conversation id; the from option overrides it', async () => {
    const s = await serve((res) => json(res, 200, {}));
    await openMessagingTransport({
      apiUrl: s.url,
      integrationId: 'i',
      tokenProvider: () => 't',
    }).send(entry(), sendContext());
    expect(JSON.parse(s.requests[0]?.body ?? '').channel.from).toEqual({
      id: 'conv-1',
      idType: 'Opaque',
    });
    await openMessagingTransport({
      apiUrl: s.url,
      integrationId: 'i',
      tokenProvider: () => 't',
      from: () => ({ id: 'jane@example.com', idType: 'Email', nickname: 'Jane' }),
    }).send(entry(), sendContext());
    expect(JSON.parse(s.requests[1]?.body ?? '').channel.from).toEqual({
      id: 'jane@example.com',
      idType: 'Email',
      nickname: 'Jane',
    });
  });

  it('shares the HTTP outcome rules (401 refresh, 429)', async () => {
    const s = await serve(
      (res) => json(res, 401, {}),
      (res) => json(res, 429, {}, { 'Retry-After': '3' }),
    );
    const tokens = countingTokens();
    const t = openMessagingTransport({ apiUrl: s.url, integrationId: 'i', tokenProvider: tokens });
    expect(await t.send(entry(), sendContext())).toMatchObject({
      kind: 'rate-limited',
      retryAfterMs: 3000,
    });
    expect(tokens.fetched).toBe(2);
  });

  it('resolves the region API host', async () => {
    const urls: string[] = [];
    const fakeFetch = (async (input: string | URL | Request) => {
      urls.push(String(input));
      return new Response('{}', { status: 200 });
    }) as typeof fetch;
    await openMessagingTransport({
      region: 'eu_central_1',
      integrationId: 'abc',
      tokenProvider: () => 't',
      fetch: fakeFetch,
    }).send(entry(), sendContext());
    expect(urls).toEqual([
      'https://api.mypurecloud.de/api/v2/conversations/messages/abc/inbound/open/message',
    ]);
  });

  it('validates options', () => {
    const ok = { region: 'us_east_1', integrationId: 'i', tokenProvider: () => 't' };
    expect(thrownCode(() => openMessagingTransport(ok))).toBe('no error');
    expect(thrownCode(() => openMessagingTransport({ ...ok, integrationId: '' }))).toBe(
      'invalid-options',
    );
    expect(
      thrownCode(() => openMessagingTransport({ integrationId: 'i', tokenProvider: () => 't' })),
    ).toBe('invalid-options');
    expect(
      thrownCode(() => openMessagingTransport({ ...ok, tokenProvider: undefined as never })),
    ).toBe('invalid-options');
    expect(thrownCode(() => openMessagingTransport({ ...ok, from: 'x' as never }))).toBe(
      'invalid-options',
    );
    expect(thrownCode(() => openMessagingTransport({ ...ok, region: 'nowhere' }))).toBe(
      'unknown-region',
    );
  });
});
