import { OutboxError } from '../errors/OutboxError.js';

const invalidOptions = (message: string): OutboxError =>
  new OutboxError('invalid-options', message);

/**
 * @internal An options object read once (a throwing getter is bad input, not a `TypeError` later)
 * with no name outside `known` (a typo such as `retries:` would otherwise be ignored): throws
 * `invalid-options` naming the valid ones.
 */
export function readOptions<T extends object>(
  what: string,
  options: T | undefined,
  known: string,
): T {
  if (typeof options !== 'object' || options === null)
    throw invalidOptions(`${what}: object required`);
  let copy: T;
  try {
    copy = { ...options };
  } catch {
    throw invalidOptions(`${what}: unreadable`);
  }
  const names = known.split(' ');
  const unknown = Object.keys(copy).find((k) => !names.includes(k));
  if (unknown !== undefined) {
    throw invalidOptions(`${what}: unknown option ${unknown} (valid: ${names.join(', ')})`);
  }
  return copy;
}

/** @internal `value` is undefined or has every one of `methods` (space-separated); else `invalid-options`. */
export function checkMethods(what: string, value: unknown, methods: string): void {
  if (
    value !== undefined &&
    methods
      .split(' ')
      .some((m) => typeof (Object(value) as Record<string, unknown>)[m] !== 'function')
  ) {
    throw invalidOptions(`options.${what} must have ${methods}`);
  }
}
