// nodeFetch (the Node POST transports' HTTP client) on keep-alive sockets: a server may close an
// idle keep-alive connection just as the next request goes out on it. Such a reset on a reused
// socket, before any byte of an answer, is retried once on a new connection instead of ending the
// attempt as a network failure (which costs an attempt and a backoff wait).
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFetch } from '../../src/transport/nodeFetch.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/**
 * A raw HTTP/1.1 server: on every connection it answers the first request 200 (keep-alive) and
 * resets the connection on the second, as a server does that closed the idle socket meanwhile.
 */
async function resettingServer(): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  server = createServer((socket: Socket) => {
    connections++;
    let requests = 0;
    let buffered = '';
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('latin1');
      while (buffered.includes('\r\n\r\n')) {
        const end = buffered.indexOf('\r\n\r\n') + 4;
        const length = Number(/content-length: *(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (buffered.length < end + length) return;
        buffered = buffered.slice(end + length);
        requests++;
        if (requests === 1) {
          socket.write(
            'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n' +
              'Connection: keep-alive\r\n\r\n{"ok":true}',
          );
        } else {
          socket.resetAndDestroy();
          return;
        }
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { url: `http://127.0.0.1:${address.port}/m`, connections: () => connections };
}

const post = (url: string): Promise<Response> =>
  nodeFetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });

describe('nodeFetch on keep-alive sockets', () => {
  it('a reset of a reused idle socket before any answer is retried once on a new connection', async () => {
    const s = await resettingServer();
    expect((await post(s.url)).status).toBe(200);
    // The second request goes out on the kept socket, which the server resets: it must be
    // answered by the server on a fresh connection, not fail.
    const second = await post(s.url);
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({ ok: true });
    expect(s.connections()).toBe(2);
  });

  it('a reset on a fresh connection is not retried (fetch failed with the socket code)', async () => {
    let connections = 0;
    server = createServer((socket: Socket) => {
      connections++;
      socket.once('data', () => socket.resetAndDestroy());
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const error = await post(`http://127.0.0.1:${address.port}/m`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError & { cause?: { code?: string } }).cause?.code).toBe('ECONNRESET');
    expect(connections).toBe(1);
  });
});
