// A Node relay pays for every delivery in CPU. The POST transports' request path builds no WHATWG
// Headers or Request object per request (in Node both are undici's classes, and constructing
// them showed up in the PostgreSQL workers benchmark's profiles): the transport hands nodeFetch a
// plain header record and nodeFetch reads it as such. Counted, not timed: the globals are
// replaced by counting subclasses for the test.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import { memoryStore } from '../../src/store/memory.js';
import { openMessagingTransport } from '../../src/transport/openMessaging.js';
import { silentLogger } from '../../src/internal/logger.js';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('POST transports in Node: no Headers / Request per request', () => {
  it('openMessagingTransport sends 20 messages without constructing a Headers or Request; the headers still arrive', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: `srv-${seen.length}` }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    let constructed = 0;
    const RealHeaders = globalThis.Headers;
    const RealRequest = globalThis.Request;
    vi.stubGlobal(
      'Headers',
      class extends RealHeaders {
        constructor(init?: HeadersInit) {
          super(init);
          constructed++;
        }
      },
    );
    vi.stubGlobal(
      'Request',
      class extends RealRequest {
        constructor(input: RequestInfo | URL, init?: RequestInit) {
          super(input, init);
          constructed++;
        }
      },
    );
    const outbox = await createOutbox({
      transport: openMessagingTransport({
        apiUrl: url,
        integrationId: 'no-webidl',
        tokenProvider: () => 'the-token',
        headers: { 'X-Relay-Key': 'k1' },
      }),
      store: memoryStore(),
      logger: silentLogger,
    });
    const sent = [];
    for (let i = 0; i < 20; i++)
      sent.push(await outbox.send({ text: `m${i}`, conversationId: 'c' }));
    const settled = await Promise.all(sent.map((e) => outbox.whenSettled(e.id)));
    expect(settled.map((e) => e.status)).toEqual(sent.map(() => 'sent'));
    expect(constructed).toBe(0);
    expect(seen).toHaveLength(20);
    for (const h of seen) {
      expect(h).toMatchObject({
        authorization: 'Bearer the-token',
        'content-type': 'application/json',
        accept: 'application/json',
        'x-relay-key': 'k1',
      });
    }
    await outbox.close();
    await new Promise((r) => server.close(r));
  });
});
