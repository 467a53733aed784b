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

/** Checks `send()` input; throws a specific `OutboxError` and never touches storage. */
export function validateSendInput(
  input: unknown,
  maxTextLength: number,
  defaultConversationId: string,
): { text: string; conversationId: string; metadata?: Record<string, string> } {
  if (typeof input !== 'object' || input === null) {
    throw new OutboxError('invalid-text', 'send() takes { text }');
  }
  const { text, conversationId, metadata } = input as Record<string, unknown>;
  if (typeof text !== 'string') {
    throw new OutboxError('invalid-text', `text is ${typeof text}, not string`);
  }
  if (text.trim() === '') {
    throw new OutboxError('invalid-text', 'text is blank');
  }
  if (text.length > maxTextLength) {
    throw new OutboxError('text-too-long', `text too long (${text.length} > ${maxTextLength})`, {
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
  if (typeof value !== 'string' || value.trim() === '') {
    throw new OutboxError('invalid-conversation-id', 'conversationId: non-empty string required');
  }
  if (value.length > MAX_CONVERSATION_ID_LENGTH) {
    throw new OutboxError(
      'invalid-conversation-id',
      `conversationId too long (${value.length} > ${MAX_CONVERSATION_ID_LENGTH})`,
    );
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
  for (const [key, v] of Object.entries(value as object)) {
    if (typeof v !== 'string') {
      throw new OutboxError('invalid-metadata', `metadata.${key} is ${typeof v}, not string`);
    }
    out[key] = v;
  }
  return out;
}
