const STATUSES: readonly unknown[] = ['pending', 'sending', 'sent', 'failed'];

/**
 * Why a record read back from storage is not a usable entry, or undefined when it is fine.
 * Stores move such records aside instead of letting them block a conversation.
 */
export function invalidEntry(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const v = value as Record<string, unknown>;
  for (const k of ['id', 'conversationId', 'text'])
    if (typeof v[k] !== 'string') return `${k} is not a string`;
  for (const k of ['seq', 'attempts', 'createdAt'])
    if (typeof v[k] !== 'number' || !Number.isFinite(v[k])) return `${k} is not a number`;
  if (!STATUSES.includes(v['status'])) return 'unknown status';
  return undefined;
}
