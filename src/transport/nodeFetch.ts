// Node only: the part of `fetch` a POST transport uses (method, headers, a string body, an
// abort signal, no redirects followed), on node:http / node:https with keep-alive agents.
//
// Why not the global fetch: a server relay pays for every delivery in CPU, and Node's fetch
// (undici) builds a WHATWG Request, web streams for the body and the response, and clones them;
// measured on the PostgreSQL workers benchmark, that was ~1.2 ms of a worker's ~3 ms of CPU per
// delivered message (BENCHMARKS.md, "Server path"). Errors look like undici's: a TypeError
// "fetch failed" whose `cause` carries the socket's code (ECONNREFUSED, ECONNRESET, …), so
// classifyNetworkError reads them the same way. Idle keep-alive sockets are unref'd by Node's
// agent: they never keep a process alive.
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** The subset of a fetch Response the transports read. */
interface LeanResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly type: 'basic';
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

let agents: { http: HttpAgent; https: HttpsAgent } | undefined;

const fetchFailed = (cause: unknown): TypeError => new TypeError('fetch failed', { cause });

/**
 * A `fetch` for Node POST transports (see the top of this file). Not a general fetch: no
 * redirects (a 3xx is answered as it is, like `redirect: 'manual'`), no streaming bodies.
 *
 * A server may close an idle keep-alive connection just as the next request goes out on it (Node's
 * agent does not read the server's `Keep-Alive: timeout` hint). A reset of a reused socket before
 * any byte of an answer is therefore sent once more, on a new connection. It repeats nothing that
 * the attempt's own retry would not: the request carries the same idempotency key either way, and
 * the attempt is spared a backoff wait for a connection that was merely stale.
 */
export const nodeFetch: typeof fetch = (input, init = {}) =>
  send(input, init, true) as unknown as Promise<Response>;

const send = (
  input: Parameters<typeof fetch>[0],
  init: RequestInit,
  reuse: boolean,
): Promise<LeanResponse> =>
  new Promise<LeanResponse>((resolve, reject) => {
    // Neither Request nor Headers is touched for the plain inputs the transports pass: in Node
    // both are undici's, and building one per request cost CPU on every delivery.
    const url = new URL(
      typeof input === 'object' && !(input instanceof URL) ? input.url : String(input),
    );
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      reject(fetchFailed(new Error(`unsupported protocol ${url.protocol}`)));
      return;
    }
    agents ??= {
      http: new HttpAgent({ keepAlive: true }),
      https: new HttpsAgent({ keepAlive: true }),
    };
    const headers: Record<string, string> = {};
    const given = init.headers;
    if (given === undefined || (given.constructor === Object && !Array.isArray(given))) {
      for (const [name, value] of Object.entries((given ?? {}) as Record<string, string>)) {
        headers[name.toLowerCase()] = String(value);
      }
    } else {
      new Headers(given).forEach((value, name) => {
        headers[name] = value;
      });
    }
    const body =
      init.body === undefined || init.body === null ? undefined : Buffer.from(init.body as string);
    if (body !== undefined) headers['content-length'] = String(body.length);
    const signal = init.signal ?? undefined;
    const secure = url.protocol === 'https:';
    /** The server began to answer: from then on an error is not a stale connection's. */
    let answered = false;
    const req = (secure ? httpsRequest : httpRequest)(
      url,
      {
        method: init.method ?? 'GET',
        headers,
        agent: reuse ? (secure ? agents.https : agents.http) : false,
      },
      (res: IncomingMessage) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('error', (e: unknown) => reject(fetchFailed(e)));
        res.once('end', () => {
          signal?.removeEventListener('abort', onAbort);
          const bytes = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          resolve({
            status,
            ok: status >= 200 && status < 300,
            type: 'basic',
            headers: {
              get: (name) => {
                const v = res.headers[name.toLowerCase()];
                return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
              },
            },
            text: async () => bytes.toString('utf8'),
            json: async () => JSON.parse(bytes.toString('utf8')) as unknown,
            arrayBuffer: async () =>
              bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
          });
        });
      },
    );
    const onAbort = (): void => {
      const reason: unknown = signal?.reason;
      req.destroy();
      reject(reason instanceof Error ? reason : new DOMException('aborted', 'AbortError'));
    };
    req.once('error', (e: unknown) => {
      const stale =
        reuse &&
        req.reusedSocket &&
        !answered &&
        signal?.aborted !== true &&
        (e as { code?: unknown }).code === 'ECONNRESET';
      if (!stale) return reject(fetchFailed(e));
      signal?.removeEventListener('abort', onAbort);
      send(input, init, false).then(resolve, reject);
    });
    if (signal?.aborted === true) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    req.end(body);
  });
