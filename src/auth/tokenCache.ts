import type { OutboxError as OutboxErrorClass } from '../errors/OutboxError.js';
import type { TokenProvider } from './tokenProvider.js';

/**
 * @internal The cache behind {@link callbackTokenProvider}: `fn`'s token is kept until
 * `invalidate()`, concurrent `getToken()` calls share one call of `fn`. Not checked here (the
 * factories check `fn` at the call). `OutboxError` is lent by the caller, so that the HTTP
 * sender's chunk, which wraps `httpTransport`'s `getAccessToken` function with it, shares no
 * module with the first load.
 */
export function tokenCache(
  fn: () => string | Promise<string>,
  OutboxError: typeof OutboxErrorClass,
): TokenProvider {
  let cached: string | undefined;
  let pending: Promise<string> | undefined;
  return {
    getToken() {
      if (cached !== undefined) return Promise.resolve(cached);
      if (pending !== undefined) return pending;
      const p = Promise.resolve()
        .then(fn)
        .then((token) => {
          if (typeof token !== 'string' || token === '') {
            throw new OutboxError('auth-failed', 'token callback returned no token');
          }
          return (cached = token);
        });
      // Cleared asynchronously, so a callback that throws synchronously cannot leave a stale promise.
      const clear = () => {
        if (pending === p) pending = undefined;
      };
      p.then(clear, clear);
      return (pending = p);
    },
    invalidate(token) {
      if (token === undefined || token === cached) cached = undefined;
    },
  };
}
