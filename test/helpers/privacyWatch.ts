// The suite-wide privacy watch (issue 14, design rule 14): every log line the library writes and
// every OutboxError it creates, in every unit and integration test, is checked against every
// secret the test is known to have used: the text and metadata values given to send(), the
// access tokens, JWTs and guest session tokens the simulator issued or accepted, session tokens
// and client secrets given to the library. test/setup/privacy.ts installs the hooks that feed
// this module and fails a test (afterEach) whose lines or errors carry a secret.

/** Shorter strings are not checked: a text like 'hi' or 'm1' also occurs in ids and words. */
export const MIN_SECRET_LENGTH = 6;

export type SecretKind = 'send() text' | 'metadata value' | 'token' | 'client secret';

/** One place where a secret was found. */
export interface Leak {
  kind: SecretKind;
  /** The first characters of the secret only (the report itself must not spread it). */
  secret: string;
  where: string;
}

const secrets = new Map<string, SecretKind>();
const lines: string[] = [];
const errors: unknown[] = [];

/**
 * Remembers a secret. Ignored when it cannot be told apart from what log lines are made of: too
 * short, or one plain lowercase word ('secret', 'pending': a test's placeholder, found in
 * ordinary messages).
 */
export function addSecret(kind: SecretKind, value: unknown): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) return;
  if (/^[a-z]+$/.test(value)) return;
  if (!secrets.has(value)) secrets.set(value, kind);
}

/** One log line as the logger got it: level, message and context. */
export function captureLine(level: string, message: unknown, context?: unknown): void {
  let ctx: string;
  try {
    ctx = context === undefined ? '' : JSON.stringify(context, errorsAsText);
  } catch {
    ctx = String(context);
  }
  lines.push(`${level} ${String(message)} ${ctx}`);
}

/** An OutboxError at its creation (read when the test ends: details may be filled in later). */
export function captureError(error: unknown): void {
  errors.push(error);
}

/** JSON.stringify replacer: an Error in a log context shows its message and cause. */
function errorsAsText(_key: string, value: unknown): unknown {
  return value instanceof Error ? describeError(value) : value;
}

/**
 * String(v), also for an object without a prototype (String() throws on one): vitest replaces a
 * failed test's error `cause` with such a serialized copy before afterEach reads it.
 */
function text(v: unknown): string {
  try {
    return String(v);
  } catch {
    try {
      return JSON.stringify(v);
    } catch {
      return Object.prototype.toString.call(v);
    }
  }
}

/** An error as text: name, message, details, and the whole `cause` chain (and AggregateErrors). */
export function describeError(e: unknown, depth = 0): string {
  if (depth > 10 || e === undefined || e === null) return '';
  if (typeof e !== 'object') return String(e);
  const x = e as { message?: unknown; details?: unknown; cause?: unknown; errors?: unknown };
  let details = '';
  try {
    details = x.details === undefined ? '' : JSON.stringify(x.details, errorsAsText);
  } catch {
    details = text(x.details);
  }
  const parts = [text(x.message ?? ''), details, text(e), describeError(x.cause, depth + 1)];
  if (Array.isArray(x.errors))
    for (const inner of x.errors) parts.push(describeError(inner, depth + 1));
  return parts.join(' | ');
}

/** Every secret found in the lines and errors captured since the last call; forgets them. */
export function takeLeaks(): Leak[] {
  const texts = [
    ...lines.map((l, i) => [`log line ${i + 1}`, l] as const),
    ...errors.map((e, i) => [`OutboxError ${i + 1}`, describeError(e)] as const),
  ];
  lines.length = 0;
  errors.length = 0;
  if (texts.length === 0 || secrets.size === 0) return [];
  const blob = texts.map(([, t]) => t).join('\n');
  const leaks: Leak[] = [];
  for (const [secret, kind] of secrets) {
    if (!blob.includes(secret)) continue;
    for (const [where, text] of texts) {
      if (!text.includes(secret)) continue;
      const at = text.indexOf(secret);
      const around = `${text.slice(Math.max(0, at - 60), at)}<SECRET>${text.slice(at + secret.length, at + secret.length + 60)}`;
      leaks.push({
        kind,
        secret: `${secret.slice(0, 3)}…(${secret.length} chars)`,
        where: `${where}: ${around}`,
      });
    }
  }
  return leaks;
}

/** Forgets the secrets (a test of the detector starts from a clean slate). */
export function forgetSecrets(): void {
  secrets.clear();
}

/** How many lines and errors are waiting to be checked (tests of the watch itself). */
export function captured(): { lines: number; errors: number; secrets: number } {
  return { lines: lines.length, errors: errors.length, secrets: secrets.size };
}
