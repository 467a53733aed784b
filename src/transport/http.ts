import { checkMethods, invalidOptions, numberOption, readOptions } from '../internal/options.js';
import type { OutboxEntry } from '../outbox/entry.js';
import { DEFAULT_RETRY } from '../retry/options.js';
import type { TokenSource } from '../auth/tokenProvider.js';
import type { Transport, TransportContext } from './Transport.js';
import { systemClock } from '../internal/clock.js';
import { OutboxError, isOutboxError } from '../errors/OutboxError.js';

/** Options shared by the HTTP transports. */
export interface HttpCommonOptions {
  /** The `fetch` to use. @default globalThis.fetch (read at call time) */
  fetch?: typeof globalThis.fetch;
  /** Timeout of one request, response body included. @default 15000 */
  timeoutMs?: number;
  /** Conversations with a request in flight at once. @default 4 */
  concurrency?: number;
  /**
   * Longest `Retry-After` taken from a response; longer waits are capped to this. The outbox's
   * `retry.maxRetryAfterMs` caps it again, so the lower of the two wins. @default 3600000
   */
  maxRetryAfterMs?: number;
  /** Extra request headers (e.g. an API key for your relay). */
  headers?: Record<string, string>;
}

/** Options of {@link httpTransport}. */
export interface HttpTransportOptions extends HttpCommonOptions {
  /** Endpoint that receives one message per `POST` (absolute, or relative to the page in a browser). */
  url: string;
  /**
   * Bearer token source: a function (its result is cached until the server answers 401) or a
   * {@link TokenProvider}. Without it no `Authorization` header is sent.
   */
  getAccessToken?: TokenSource;
  /**
   * Builds the JSON body from an entry.
   * @default (entry) => ({ guestId: entry.metadata?.guestId, conversationId, text, externalId: entry.id }) (guestId omitted when absent)
   */
  body?: (entry: OutboxEntry) => unknown;
  /** Name for logs. @default 'http' */
  name?: string;
}

/** @internal What {@link postTransport} needs, already validated. */
export interface PostTransportConfig {
  name: string;
  url: string;
  /** Checked: a function (the sender caches its token, as `callbackTokenProvider` does) or a provider. */
  tokens: TokenSource | undefined;
  headers: Record<string, string>;
  fetch: typeof globalThis.fetch | undefined;
  timeoutMs: number;
  concurrency: number;
  maxRetryAfterMs: number;
  /** Checked: a function, or undefined for the tutorial's body (`tutorialBody` in post.ts). */
  body: ((entry: OutboxEntry) => unknown) | undefined;
}

const invalid = invalidOptions;

/**
 * @internal An http(s) URL: absolute, or relative to the page (`location`) where there is one,
 * or to anything when the caller brings its own `fetch`. Anything else (`'not a url'`, `ftp:`, a
 * relative URL in Node) throws `invalid-options` at construction instead of failing every attempt.
 */
export function checkUrl(name: string, url: unknown, ownFetch?: unknown): void {
  let protocol = '';
  try {
    const base = globalThis.location?.href ?? (ownFetch ? 'http://x' : undefined);
    if (!/[\s\0]/.test(url as string)) protocol = new URL(url as string, base).protocol;
  } catch {
    // reported below
  }
  if (typeof url !== 'string' || !/^https?:$/.test(protocol)) {
    throw invalid(`${name} must be an http(s) URL`);
  }
}

/** @internal The names of {@link HttpCommonOptions}, for `readOptions`. */
export const COMMON = 'fetch timeoutMs concurrency maxRetryAfterMs headers';

/** @internal Validates {@link HttpCommonOptions}; throws `invalid-options`. */
export function resolveCommon(
  o: HttpCommonOptions,
): Omit<PostTransportConfig, 'name' | 'url' | 'tokens' | 'body'> {
  const { fetch, timeoutMs = 15_000 } = o;
  const concurrency = numberOption('concurrency', o.concurrency, 4, 1, true);
  const maxRetryAfterMs = numberOption(
    'maxRetryAfterMs',
    o.maxRetryAfterMs,
    DEFAULT_RETRY.maxRetryAfterMs,
    0,
    false,
    true,
  );
  const headers = o.headers ?? {};
  if (fetch !== undefined ? typeof fetch !== 'function' : typeof globalThis.fetch !== 'function') {
    throw invalid('fetch must be a function (no global fetch here)');
  }
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0))
    throw invalid('timeoutMs must be a positive number');
  if (
    typeof headers !== 'object' ||
    headers === null ||
    Object.values(headers).some((v) => typeof v !== 'string')
  ) {
    throw invalid('headers must be an object of strings');
  }
  return { fetch, timeoutMs, concurrency, maxRetryAfterMs, headers };
}

/**
 * @internal One JSON `POST` per entry with a Bearer token, the outcome classified by
 * `retry/classify.ts`. Shared by {@link httpTransport} and `openMessagingTransport`. The sender
 * itself (post.ts) is a chunk fetched when the outbox starts the transport, not awaited.
 */
export function postTransport(config: PostTransportConfig): Transport {
  let ctx: TransportContext | undefined;
  let live: Transport | undefined;
  let loading: Promise<Transport | undefined> | undefined;
  const load = (): Promise<Transport | undefined> =>
    (loading ??= import('./post.js').then(
      (m) => {
        live = m.postSender(config, systemClock, isOutboxError, OutboxError);
        if (ctx) void live.start?.(ctx);
        return live;
      },
      () => (loading = undefined),
    ));
  return {
    name: config.name,
    concurrency: config.concurrency,
    endpoint: config.url,
    start(context) {
      ctx = context;
      void load();
    },
    async send(entry, context) {
      const t = live ?? (await load());
      // The chunk could not be fetched: the network is down (the next attempt fetches it again).
      return t
        ? t.send(entry, context)
        : { kind: 'offline', error: { code: 'network', message: 'sender not loaded' } };
    },
  };
}

/**
 * A transport that `POST`s each entry as JSON to `url` — your own relay, or the tutorial's
 * endpoint shape (not a Genesys API: real Genesys traffic goes through `guestTransport` or
 * `openMessagingTransport`). The entry id travels as `externalId` (the idempotency key);
 * 409 counts as delivered. A 401 invalidates the token and retries once at once; `Retry-After`
 * (seconds or HTTP-date) is honoured; a token failure becomes an outcome, never an exception.
 *
 * @example
 * const transport = httpTransport({ url: '/api/messages', getAccessToken: () => myBackend.token() });
 */
export function httpTransport(input: HttpTransportOptions): Transport {
  const options = readOptions('httpTransport', input, `url getAccessToken body name ${COMMON}`);
  const { url, body, name = 'http' } = options;
  checkUrl('url', url, options.fetch);
  if (body !== undefined && typeof body !== 'function') throw invalid('body must be a function');
  const tokens = options.getAccessToken;
  // A function is wrapped by the sender's chunk; anything else must be a provider.
  checkMethods(
    'getAccessToken',
    typeof tokens === 'function' ? undefined : tokens,
    'getToken invalidate',
  );
  return postTransport({ ...resolveCommon(options), name, url, body, tokens });
}
