import { OutboxError } from '../errors/OutboxError.js';
import type { OutboxErrorCode } from '../errors/OutboxError.js';

/** @internal A module fetched by `import()` and the calls that need it (see {@link chunk}). */
export interface Chunk<T> {
  /** Runs `f` with the module's value once it is there; calls keep their order. */
  call<R>(f: (value: T) => Promise<R>): Promise<R>;
  /** Starts fetching it now (a failure is reported by the next `call`). */
  prefetch(): void;
  /**
   * Gives `target` a method for each of `names` (space-separated) that calls the module's
   * method of that name through `call`, with the same arguments; a call rejects at once with
   * what `refuse` returns, if anything (a closed store's error).
   */
  bind(target: object, names: string, refuse?: () => unknown): void;
}

/**
 * @internal Code kept out of the first load (issue 15): `fetch` imports it, and is called at
 * the latest by the first `call`. Calls made before it arrived wait for it and run in the order
 * they were made (then later calls go straight to it); if it cannot be fetched (the network
 * dropped), the waiting calls reject with `code` and the next call fetches it again.
 */
export function chunk<T>(fetch: () => Promise<T>, code: OutboxErrorCode): Chunk<T> {
  let value: T | undefined;
  let loading: Promise<T> | undefined;
  let waiting = 0;
  const load = (): Promise<T> =>
    (loading ??= fetch().then(
      (v) => (value = v),
      (error: unknown) => {
        loading = undefined;
        throw new OutboxError(code, 'chunk not loaded', { cause: error });
      },
    ));
  const c: Chunk<T> = {
    call(f) {
      if (value !== undefined && waiting === 0) return f(value);
      waiting++;
      return load().then(
        (v) => {
          waiting--;
          return f(v);
        },
        (error: unknown) => {
          waiting--;
          throw error;
        },
      );
    },
    prefetch: () => void load().catch(() => {}),
    bind(target, names, refuse) {
      for (const k of names.split(' '))
        (target as Record<string, unknown>)[k] = (...args: unknown[]) => {
          const error = refuse?.();
          return error
            ? Promise.reject(error)
            : c.call((v) =>
                (v as Record<string, (...a: unknown[]) => Promise<unknown>>)[k]!(...args),
              );
        };
    },
  };
  return c;
}
