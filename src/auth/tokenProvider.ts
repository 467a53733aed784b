import { OutboxError } from '../errors/OutboxError.js';
import { tokenCache } from './tokenCache.js';

/**
 * Supplies access tokens to a transport. Tokens live in memory only (design rule 10).
 */
export interface TokenProvider {
  /** A valid token (cached, or fetched now; concurrent callers share one fetch). */
  getToken(): Promise<string>;
  /**
   * Forget the cached token (the server answered 401). With `token`, only forgets it if it is
   * still the cached one, so a token that another caller already refreshed is kept.
   */
  invalidate(token?: string): void;
}

/** A token provider, or a function returning a token (e.g. from your own backend). */
export type TokenSource = TokenProvider | (() => string | Promise<string>);

/**
 * A {@link TokenProvider} around your own function, for browsers that get a token from their
 * backend (never ship a client secret to a browser). The token is cached until `invalidate()`
 * (the transports call it on a 401); concurrent `getToken()` calls share one call of `fn`.
 * Errors from `fn` are passed through unchanged (a `TypeError` from `fetch` then counts as offline).
 *
 * @example
 * const tokens = callbackTokenProvider(async () => (await fetch('/my/token')).text());
 */
export function callbackTokenProvider(fn: () => string | Promise<string>): TokenProvider {
  if (typeof fn !== 'function')
    throw new OutboxError('invalid-options', 'token callback must be a function');
  return tokenCache(fn, OutboxError);
}

/**
 * Normalises a token option: a {@link TokenProvider} is used as is, a function is wrapped with
 * {@link callbackTokenProvider}, `undefined` stays `undefined` (no `Authorization` header).
 */
export function toTokenProvider(source: TokenSource | undefined): TokenProvider | undefined {
  if (source === undefined) return undefined;
  if (typeof source === 'function') return callbackTokenProvider(source);
  if (
    typeof source === 'object' &&
    source !== null &&
    typeof source.getToken === 'function' &&
    typeof source.invalidate === 'function'
  ) {
    return source;
  }
  throw new OutboxError(
    'invalid-options',
    'token provider must be a function or { getToken, invalidate }',
  );
}
