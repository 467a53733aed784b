import { OutboxError } from '../errors/OutboxError.js';

/** What `send()` accepts. */
export interface SendInput {
  text: string;
  /** @default the outbox's `defaultConversationId` ('default') */
  conversationId?: string;
  /** A flat map of strings, sent along where the transport supports it (e.g. custom attributes). */
  metadata?: Record<string, string>;
}

export const MAX_CONVERSATION_ID_LENGTH = 256;
/** Limits of `send({ metadata })`: keys, and characters of all keys and values together. */
export const MAX_METADATA_KEYS = 100;
export const MAX_METADATA_CHARS = 16_384;

/** Nothing but white space, control and format characters (U+200B, U+FEFF, …). */
const BLANK = /^[\s\p{Cc}\p{Cf}]*$/u;

/** Checks `send()` input; throws a specific `OutboxError` and never touches storage. */
export function validateSendInput(
  input: unknown,
  maxTextLength: number,
  defaultConversationId: string,
): { text: string; conversationId: string; metadata?: Record<string, string> } {
  let text: unknown, conversationId: unknown, metadata: unknown;
  try {
    ({ text, conversationId, metadata } = input as Record<string, unknown>);
  } catch {
    // null, undefined, or a getter that throws
  }
  if (typeof text !== 'string') {
    throw new OutboxError('invalid-text', 'text: string required');
  }
  if (BLANK.test(text)) {
    throw new OutboxError('invalid-text', 'text is blank');
  }
  // U+0000 and lone surrogates cannot be stored or sent faithfully (JSON, PostgreSQL, UTF-8).
  if (/[\0\p{Cs}]/u.test(text)) {
    throw new OutboxError('invalid-text', 'text: U+0000 or lone surrogate');
  }
  if (text.length > maxTextLength) {
    throw new OutboxError('text-too-long', 'text too long', {
      details: { length: text.length, limit: maxTextLength },
    });
  }
  const conv = conversationId === undefined ? defaultConversationId : conversationId;
  assertConversationId(conv);
  const out: { text: string; conversationId: string; metadata?: Record<string, string> } = {
    text,
    conversationId: conv,
  };
  if (metadata !== undefined) out.metadata = validateMetadata(metadata);
  return out;
}

/** A conversation id is a non-blank string of at most 256 characters. */
export function assertConversationId(value: unknown): asserts value is string {
  if (typeof value !== 'string' || BLANK.test(value)) {
    throw new OutboxError('invalid-conversation-id', 'conversationId: non-empty string required');
  }
  if (value.length > MAX_CONVERSATION_ID_LENGTH) {
    throw new OutboxError('invalid-conversation-id', 'conversationId too long');
  }
}

function validateMetadata(value: unknown): Record<string, string> {
  const proto: unknown =
    typeof value === 'object' && value !== null ? Object.getPrototypeOf(value) : undefined;
  // Only plain objects (or null-prototype ones): arrays, class instances and primitives are refused.
  if (proto !== Object.prototype && proto !== null) {
    throw new OutboxError('invalid-metadata', 'metadata: plain object of strings required');
  }
  const out: Record<string, string> = {};
  let entries: [string, unknown][];
  try {
    entries = Object.entries(value as object);
  } catch {
    throw new OutboxError('invalid-metadata', 'metadata: unreadable');
  }
  let chars = 0;
  for (const [key, v] of entries) {
    if (typeof v !== 'string') {
      throw new OutboxError('invalid-metadata', `metadata.${key}: string required`);
    }
    // `__proto__` would set the prototype of the copy and vanish; '' names nothing.
    if (key === '' || key === '__proto__') {
      throw new OutboxError('invalid-metadata', `metadata key "${key}" not allowed`);
    }
    chars += key.length + v.length;
    out[key] = v;
  }
  if (entries.length > MAX_METADATA_KEYS || chars > MAX_METADATA_CHARS) {
    throw new OutboxError('invalid-metadata', 'metadata too large');
  }
  return out;
}
