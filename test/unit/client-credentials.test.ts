import { afterEach, describe, expect, it } from 'vitest';
import {
  clientCredentials,
  type ClientCredentialsOptions,
} from '../../src/auth/clientCredentials.js';
import { isOutboxError } from '../../src/errors/OutboxError.js';
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
});

/** An OAuth server that hands out tok1, tok2, ... with the given lifetime. */
async function oauth(expiresIn = 86_400): Promise<TestHttpServer> {
  server = await startTestHttpServer((_req, res, i) =>
    json(res, 200, { access_token: `tok${i + 1}`, token_type: 'bearer', expires_in: expiresIn }),
  );
  return server;
}

describe('clientCredentials', () => {
  it('POSTs to <loginUrl>/oauth/token with the exact Basic header and form body', async () => {
    const s = await oauth();
    const tokens = clientCredentials({
      loginUrl: `${s.url}/`,
      clientId: 'my-id',
      clientSecret: 's3cr:et',
    });
    expect(await tokens.getToken()).toBe('tok1');
    expect(s.requests).toHaveLength(1);
    const [req] = s.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/oauth/token');
    expect(req?.headers.authorization).toBe(
      `Basic ${Buffer.from('my-id:s3cr:et').toString('base64')}`,
    );
    expect(req?.headers.authorization).toBe('Basic bXktaWQ6czNjcjpldA==');
    expect(req?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req?.body).toBe('grant_type=client_credentials');
  });

  it('caches the token until 30 s before expires_in (injected clock)', async () => {
    const s = await oauth(300);
    let now = 1_000_000;
    const tokens = clientCredentials({
      loginUrl: s.url,
      clientId: 'a',
      clientSecret: 'b',
      clock: { now: () => now },
    });
    expect(await tokens.getToken()).toBe('tok1');
    now += 270_000 - 1; // 1 ms before the refresh point (300 s - 30 s)
    expect(await tokens.getToken()).toBe('tok1');
    expect(s.requests).toHaveLength(1);
    now += 1; // exactly at the refresh point
    expect(await tokens.getToken()).toBe('tok2');
    expect(s.requests).toHaveLength(2);
    expect(await tokens.getToken()).toBe('tok2');
    expect(s.requests).toHaveLength(2);
  });

  it('invalidate() forgets the token; invalidate(stale) does not', async () => {
    const s = await oauth();
    const tokens = clientCredentials({ loginUrl: s.url, clientId: 'a', clientSecret: 'b' });
    expect(await tokens.getToken()).toBe('tok1');
    tokens.invalidate('tok1');
    expect(await tokens.getToken()).toBe('tok2');
    tokens.invalidate('tok1');
    expect(await tokens.getToken()).toBe('tok2');
    tokens.invalidate();
    expect(await tokens.getToken()).toBe('tok3');
    expect(s.requests).toHaveLength(3);
  });

  it('single-flight: 3 concurrent calls make 1 request', async () => {
    const s = await oauth();
    const tokens = clientCredentials({ loginUrl: s.url, clientId: 'a', clientSecret: 'b' });
    expect(await Promise.all([tokens.getToken(), tokens.getToken(), tokens.getToken()])).toEqual([
      'tok1',
      'tok1',
      'tok1',
    ]);
    expect(s.requests).toHaveLength(1);
  });

  it('a non-2xx answer rejects with auth-failed naming the status and the Genesys error code', async () => {
    server = await startTestHttpServer((_req, res) =>
      json(res, 401, { message: 'client not found', code: 'bad.credentials', status: 401 }),
    );
    const tokens = clientCredentials({ loginUrl: server.url, clientId: 'a', clientSecret: 'b' });
    const error: unknown = await tokens.getToken().catch((e: unknown) => e);
    expect(isOutboxError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'auth-failed',
      status: 401,
      message: 'token request failed with HTTP 401 (bad.credentials: client not found)',
    });
    // failures are not cached
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'auth-failed' });
    expect(server.requests).toHaveLength(2);
  });

  it('a 2xx without access_token is auth-failed', async () => {
    server = await startTestHttpServer((_req, res) => json(res, 200, { nope: true }));
    const tokens = clientCredentials({ loginUrl: server.url, clientId: 'a', clientSecret: 'b' });
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'auth-failed', status: 200 });
  });

  it('a refused connection rejects with code network', async () => {
    const tokens = clientCredentials({
      loginUrl: await refusedUrl(),
      clientId: 'a',
      clientSecret: 'b',
    });
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'network' });
  });

  it('a hanging login server rejects with code timeout', async () => {
    server = await startTestHttpServer(() => {});
    const tokens = clientCredentials({
      loginUrl: server.url,
      clientId: 'a',
      clientSecret: 'b',
      timeoutMs: 50,
    });
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'timeout' });
  });

  it('uses the region login host', async () => {
    const urls: string[] = [];
    const fakeFetch = (async (input: string | URL | Request) => {
      urls.push(String(input));
      return new Response(JSON.stringify({ access_token: 'x', expires_in: 86400 }), {
        status: 200,
      });
    }) as typeof fetch;
    await clientCredentials({
      region: 'eu-west-1',
      clientId: 'a',
      clientSecret: 'b',
      fetch: fakeFetch,
    }).getToken();
    expect(urls).toEqual(['https://login.mypurecloud.ie/oauth/token']);
  });

  it('validates options', () => {
    const ok: ClientCredentialsOptions = { region: 'us_east_1', clientId: 'a', clientSecret: 'b' };
    expect(thrownCode(() => clientCredentials(ok))).toBe('no error');
    expect(thrownCode(() => clientCredentials({ ...ok, clientId: '' }))).toBe('invalid-options');
    expect(
      thrownCode(() => clientCredentials({ ...ok, clientSecret: undefined as unknown as string })),
    ).toBe('invalid-options');
    expect(thrownCode(() => clientCredentials({ clientId: 'a', clientSecret: 'b' }))).toBe(
      'invalid-options',
    );
    expect(thrownCode(() => clientCredentials({ ...ok, region: 'mars' }))).toBe('unknown-region');
    expect(thrownCode(() => clientCredentials({ ...ok, timeoutMs: 0 }))).toBe('invalid-options');
    // A malformed login URL is bad input at once, not a "network" failure retried for a day.
    for (const loginUrl of ['not a url', 'ftp://login.example', 'login.mypurecloud.com']) {
      expect(
        thrownCode(() => clientCredentials({ ...ok, loginUrl })),
        loginUrl,
      ).toBe('invalid-options');
    }
    expect(
      thrownCode(() => clientCredentials(undefined as unknown as ClientCredentialsOptions)),
    ).toBe('invalid-options');
  });

  it('refuses to run in a browser (insecure-context)', () => {
    const g = globalThis as { window?: unknown; document?: unknown };
    const had = { window: 'window' in g, document: 'document' in g };
    const saved = { window: g.window, document: g.document };
    g.window = {};
    g.document = {};
    try {
      expect(
        thrownCode(() =>
          clientCredentials({ region: 'us_east_1', clientId: 'a', clientSecret: 'b' }),
        ),
      ).toBe('insecure-context');
    } finally {
      if (had.window) g.window = saved.window;
      else delete g.window;
      if (had.document) g.document = saved.document;
      else delete g.document;
    }
    expect(
      thrownCode(() =>
        clientCredentials({ region: 'us_east_1', clientId: 'a', clientSecret: 'b' }),
      ),
    ).toBe('no error');
  });
});
