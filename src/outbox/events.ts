import type { OutboxEntry } from './entry.js';
import type { TranscriptRecord } from '../store/OutboxStore.js';

/**
 * What `subscribe` listeners receive.
 * - `status`: an entry was stored, changed status, was retried, or was delivered (`status: 'sent'`);
 *   fired for every status change, in every tab.
 * - `discarded`: the user discarded an entry.
 * - `connectivity`: the outbox's view of the network changed.
 * - `transcript`: a transcript line was added or changed (guest or agent message).
 * - `session-closed`: the guest transport stopped because Genesys closed its connection
 *   (`ConnectionClosedEvent`, `LogoutEvent`; see docs/guest-transport.md). It does not reconnect;
 *   entries stay pending (`lastError.code` `session-closed`) until the outbox is created again.
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
  | { type: 'wiped' }
  | { type: 'session-closed'; reason: SessionClosedReason };

/**
 * Why Genesys closed the guest connection: `signed-in` (the guest signed in elsewhere: the token is
 * discarded), `conversation-cleared` (the conversation was cleared), `logout` (token discarded),
 * `session-limit` (another connection took the session, or too many are open).
 */
export type SessionClosedReason = 'signed-in' | 'conversation-cleared' | 'logout' | 'session-limit';
