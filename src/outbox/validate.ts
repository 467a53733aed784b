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
    throw new OutboxError(
      'invalid-text',
      'send() takes an object { text, conversationId?, metadata? }',
    );
  }
  const { text, conversationId, metadata } = input as Record<string, unknown>;
  if (typeof text !== 'string') {
    throw new OutboxError('invalid-text', `text must be a string, got ${typeof text}`);
  }
  if (text.trim() === '') {
    throw new OutboxError('invalid-text', 'text must not be empty or only white space');
  }
  if (text.length > maxTextLength) {
    throw new OutboxError(
      'text-too-long',
      `text is ${text.length} characters; the limit is ${maxTextLength}`,
      { details: { length: text.length, limit: maxTextLength } },
    );
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
    throw new OutboxError(
      'invalid-conversation-id',
      `conversationId must be a non-empty string, got ${value === '' ? 'an empty string' : typeof value}`,
    );
  }
  if (value.length > MAX_CONVERSATION_ID_LENGTH) {
    throw new OutboxError(
      'invalid-conversation-id',
      `conversationId is longer than ${MAX_CONVERSATION_ID_LENGTH} characters`,
    );
  }
}

function validateMetadata(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OutboxError('invalid-metadata', 'metadata must be a plain object of strings');
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new OutboxError('invalid-metadata', 'metadata must be a plain object of strings');
  }
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new OutboxError(
        'invalid-metadata',
        `metadata.${key} must be a string, got ${typeof v}`,
      );
    }
    out[key] = v;
  }
  return out;
}
