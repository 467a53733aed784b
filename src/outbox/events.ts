import type { OutboxEntry } from './entry.js';
import type { TranscriptRecord } from '../store/OutboxStore.js';

/**
 * What `subscribe` listeners receive.
 * - `status`: an entry was stored, changed status, was retried, or was delivered (`status: 'sent'`);
 *   fired for every status change, in every tab.
 * - `discarded`: the user discarded an entry.
 * - `connectivity`: the outbox's view of the network changed.
 * - `transcript`: a transcript line was added or changed (guest or agent message).
 * - `corrupt-record`: the default store found an unreadable record and moved it aside (to its
 *   `quarantine` store), so it no longer blocks the queue. Nothing is deleted.
 * - `wiped`: `wipe()` was called (in this tab or another): the outbox is closed and its local
 *   data is being deleted; show the visitor a fresh start.
 */
export type OutboxEvent =
  | { type: 'status'; entry: OutboxEntry }
  | { type: 'discarded'; id: string; conversationId: string }
  | { type: 'connectivity'; online: boolean }
  | { type: 'transcript'; record: TranscriptRecord }
  | { type: 'corrupt-record'; key: unknown; reason: string }
  | { type: 'wiped' };
