import { OutboxError } from '../errors/OutboxError.js';

/** @internal The error of a bad option (every factory and `createOutbox` throw this one). */
export const invalidOptions = (message: string): OutboxError =>
  new OutboxError('invalid-options', message);

/**
 * @internal A number option: `fallback` when `value` is undefined, else `value` if it is a number
 * `>= min` (a whole one with `whole`; Infinity only with `infinite`), else `invalid-options`.
 */
export function numberOption(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  whole = false,
  infinite = false,
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !(value >= min) ||
    (value === Infinity ? !infinite : whole && !Number.isInteger(value))
  ) {
    throw invalidOptions(
      `${name} must be ${whole ? 'an integer' : 'a number'} >= ${min}: ${String(value)}`,
    );
  }
  return value;
}

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
