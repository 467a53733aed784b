import { isOutboxError } from '../../src/errors/OutboxError.js';

const describe = (e: unknown): string =>
  isOutboxError(e) ? e.code : `not an OutboxError: ${String(e)}`;

/** The `code` of the OutboxError that `fn` throws, or 'no error'. */
export function thrownCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e: unknown) {
    return describe(e);
  }
  return 'no error';
}

/** The `code` of the OutboxError that the promise (or the function's result) rejects with, or 'no error'. */
export async function rejectionCode(work: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (e: unknown) {
    return describe(e);
  }
  return 'no error';
}
