/**
 * Every error this library raises or records carries one of these stable codes.
 * Tests and callers should branch on `code`, never on the message text.
 */
export type OutboxErrorCode =
  // bad input to send()/enqueueMessage()
  | 'invalid-text'
  | 'text-too-long'
  | 'invalid-conversation-id'
  | 'invalid-metadata'
  | 'invalid-id'
  // bad configuration
  | 'invalid-options'
  | 'missing-dependency'
  | 'unknown-region'
  | 'invalid-deployment-id'
  | 'invalid-session-token'
  | 'custom-data-too-large'
  | 'insecure-context'
  | 'encryption-key-required'
  // permanent misconfiguration found by the server (fails the entry at once)
  | 'unknown-deployment'
  | 'auth-misconfigured'
  // lifecycle
  | 'closed'
  | 'not-found'
  | 'invalid-state'
  /** A part of the library fetched after the first load (a code-split chunk) could not be fetched; the next call fetches it again. */
  | 'load-failed'
  // storage
  | 'storage-failed'
  | 'storage-full'
  /** SQLite: another process kept the file locked for longer than `busyTimeoutMs`. */
  | 'storage-busy'
  /** SQLite: another process took this one's sender lease over (fencing: the write was refused). */
  | 'lease-lost'
  /** PostgreSQL: the server could not be reached (refused, unknown host, timed out). */
  | 'storage-unreachable'
  /** PostgreSQL: the server refused the credentials. */
  | 'storage-auth-failed'
  /** PostgreSQL: the schema was written by a newer version of this library; nothing was changed. */
  | 'schema-too-new'
  | 'corrupt-record'
  // delivery outcomes recorded on entries (lastError.code)
  | 'network'
  | 'timeout'
  | 'server-error'
  | 'rate-limited'
  | 'auth-failed'
  | 'session-expired'
  | 'session-closed'
  | 'rejected'
  | 'message-too-long'
  | 'conversation-ended'
  | 'expired'
  | 'in-doubt'
  | 'protocol-error'
  | 'redirected'
  | 'unknown';

/** Plain data describing an error; what is stored on an entry as `lastError`. */
export interface ErrorInfo {
  code: OutboxErrorCode;
  message: string;
  /** HTTP status or Genesys guest error code, when the server gave one. */
  status?: number;
}

const BRAND = Symbol.for('genesys-webmessaging-outbox.OutboxError');

/**
 * The one error class of this library.
 *
 * @example
 * try { await outbox.send({ text: '' }) } catch (e) { if (isOutboxError(e) && e.code === 'invalid-text') … }
 */
export class OutboxError extends Error {
  override readonly name = 'OutboxError';
  // `declare`: set by the constructor, no class field of their own (fewer bytes, same object).
  declare readonly code: OutboxErrorCode;
  /** HTTP status or guest error code, where one applies. */
  declare readonly status: number | undefined;
  /** Extra context (never message text). */
  declare readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: OutboxErrorCode,
    message: string,
    options: { cause?: unknown; status?: number; details?: Record<string, unknown> } = {},
  ) {
    // Error reads only `cause` of them, and gives this error one only if they have that key.
    super(message, options);
    this.code = code;
    this.status = options.status;
    this.details = options.details;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** The plain, storable form of this error. */
  toInfo(): ErrorInfo {
    return this.status === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, status: this.status };
  }
}

/**
 * True for an {@link OutboxError}, including one created by another copy of this library
 * (another bundle or realm), where `instanceof` would fail.
 */
export function isOutboxError(value: unknown): value is OutboxError {
  return (
    typeof value === 'object' &&
    value !== null &&
    ((value as Record<symbol, unknown>)[BRAND] === true || value instanceof OutboxError)
  );
}
