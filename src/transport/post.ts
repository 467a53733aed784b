// The HTTP transports' sender (see postTransport in ../http.ts, which checks the options in the
// first load): a chunk fetched as soon as the outbox starts the transport.
import type { OutboxError, isOutboxError as IsOutboxError } from '../errors/OutboxError.js';
import { tokenCache } from '../auth/tokenCache.js';
import type { OutboxEntry } from '../outbox/entry.js';
import { classifyHttpStatus, classifyNetworkError } from '../retry/classify.js';
import type { SendContext, SendOutcome, Transport, TransportContext } from './Transport.js';
import type { PostTransportConfig } from './http.js';
import type { Clock } from '../internal/clock.js';

/** The tutorial's request body (httpTransport's default); `externalId` is the idempotency key. */
export function tutorialBody(entry: OutboxEntry): unknown {
  const guestId = entry.metadata?.guestId;
  const base = { conversationId: entry.conversationId, text: entry.text, externalId: entry.id };
  return guestId === undefined ? base : { guestId, ...base };
}

/**
 * One JSON `POST` per entry with a Bearer token, the outcome classified by `retry/classify.ts`.
 * `systemClock`, `isOutboxError` and `OutboxError` are lent by the first load (http.ts) so that
 * this chunk and the first load share no module (a shared module is a file of its own in the
 * user's build).
 */
export function postSender(
  config: PostTransportConfig,
  systemClock: Clock,
  isOutboxError: typeof IsOutboxError,
  OutboxErrorClass: typeof OutboxError,
): Transport {
  function fail(
    kind: 'retry' | 'offline' | 'rejected',
    error: OutboxError | { code: 'timeout' | 'auth-failed' | 'invalid-options'; message: string },
  ): SendOutcome {
    return { kind, error: isOutboxError(error) ? error.toInfo() : error };
  }

  const { url, timeoutMs } = config;
  // A function (httpTransport's getAccessToken) gets callbackTokenProvider's cache, here.
  const tokens =
    typeof config.tokens === 'function'
      ? tokenCache(config.tokens, OutboxErrorClass)
      : config.tokens;
  let ctx: TransportContext | undefined;
  const report = (online: boolean) => ctx?.reportConnectivity(online);

  /**
   * A token, `undefined` without a provider, or the outcome of failing to get one (never throws).
   * Bounded like the request: a provider that has not answered within `timeoutMs` (or by the
   * attempt's abort, `close()`) ends the attempt as a `timeout` retry; before, the attempt waited
   * as long as the provider did (a callback that never settles: forever, with `close()` waiting
   * on it; `clientCredentials`: its own 15 s, twice around a 401), its entry `sending` meanwhile.
   */
  async function token(signal: AbortSignal): Promise<string | undefined | SendOutcome> {
    if (tokens === undefined) return undefined;
    let timer: unknown;
    let onAbort = (): void => {};
    try {
      return await new Promise<string>((resolve, reject) => {
        const late = (message: string) => () => reject({ code: 'timeout', message });
        timer = systemClock.setTimeout(
          late(`access token not received within ${timeoutMs} ms`),
          timeoutMs,
        );
        onAbort = late('attempt aborted while waiting for the access token');
        signal.addEventListener('abort', onAbort, { once: true });
        if (signal.aborted) onAbort();
        tokens.getToken().then(resolve, reject);
      });
    } catch (error: unknown) {
      if ((error as { code?: unknown } | null)?.code === 'timeout' && !isOutboxError(error)) {
        return fail('retry', error as { code: 'timeout'; message: string });
      }
      let outcome: SendOutcome;
      if (isOutboxError(error)) {
        const kind =
          error.code === 'network'
            ? 'offline'
            : error.code === 'auth-misconfigured'
              ? 'rejected'
              : 'retry';
        outcome = fail(kind, error);
      } else {
        // A fetch TypeError from the caller's own token endpoint while offline is "offline".
        const net = classifyNetworkError(error);
        outcome =
          net.kind === 'offline'
            ? net
            : fail('retry', { code: 'auth-failed', message: 'access token unavailable' });
      }
      if (outcome.kind === 'offline') report(false);
      return outcome;
    } finally {
      systemClock.clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  async function post(
    payload: string,
    bearer: string | undefined,
    signal: AbortSignal,
  ): Promise<[SendOutcome, number?]> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = systemClock.setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) controller.abort();
    // A plain record, names lowercased (a later one replaces an earlier one, as Headers.set
    // does): no WHATWG Headers object per request (in Node, undici's, a measurable part of a
    // server worker's CPU per delivery).
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    for (const [k, v] of Object.entries(config.headers)) headers[k.toLowerCase()] = v;
    if (bearer !== undefined) headers['authorization'] = `Bearer ${bearer}`;
    try {
      const response = await (config.fetch ?? globalThis.fetch)(url, {
        method: 'POST',
        headers,
        body: payload,
        signal: controller.signal,
        // Never follow: a 3xx is not a delivery. Browsers answer an opaque redirect (status 0).
        redirect: 'manual',
      });
      report(true);
      let body: unknown;
      try {
        const text = await response.text();
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = undefined; // the status decides; an unreadable body only loses detail
      }
      const now = (ctx?.clock ?? systemClock).now();
      const outcome = classifyHttpStatus(
        response.type === 'opaqueredirect' ? 302 : response.status,
        response.headers.get('retry-after'),
        now,
        config,
        body,
      );
      const id = (body as { id?: unknown } | undefined)?.id;
      if (outcome.kind === 'delivered' && response.status !== 409 && typeof id === 'string')
        outcome.serverId = id;
      return [outcome, response.status];
    } catch (error: unknown) {
      if (timedOut || controller.signal.aborted) {
        const message = timedOut
          ? `request timed out after ${timeoutMs} ms`
          : 'request aborted (outbox closing)';
        return [fail('retry', { code: 'timeout', message })];
      }
      const outcome = classifyNetworkError(error);
      if (outcome.kind === 'offline') report(false);
      return [outcome];
    } finally {
      systemClock.clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  return {
    name: config.name,
    concurrency: config.concurrency,
    endpoint: url,
    start(context) {
      ctx = context;
    },
    async send(entry: OutboxEntry, context: SendContext): Promise<SendOutcome> {
      let payload: string;
      try {
        payload = JSON.stringify((config.body ?? tutorialBody)(entry));
      } catch (error: unknown) {
        const detail = isOutboxError(error)
          ? error.code
          : String((error as { name?: unknown } | null)?.name);
        return fail('rejected', {
          code: 'invalid-options',
          message: `the body option failed (${detail})`,
        });
      }
      let bearer = await token(context.signal);
      if (typeof bearer === 'object') return bearer;
      let [outcome, status] = await post(payload, bearer, context.signal);
      if (status === 401 && tokens !== undefined) {
        // The token was revoked or expired: forget it, get a new one once, and try again now.
        tokens.invalidate(bearer);
        bearer = await token(context.signal);
        if (typeof bearer === 'object') return bearer;
        [outcome, status] = await post(payload, bearer, context.signal);
        if (status === 401) tokens.invalidate(bearer);
      }
      return outcome;
    },
  };
}
