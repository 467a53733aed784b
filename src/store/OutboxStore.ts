import type { Clock } from '../internal/clock.js';
import type { Coordinator } from '../coordination/Coordinator.js';
import type { NewEntry, StoredEntry } from '../outbox/entry.js';

/** One line of the local transcript: a message the guest sent or the agent/bot sent. */
export interface TranscriptRecord {
  /** Unique key: the outbox entry id for the guest's own messages, the server id for others. */
  key: string;
  conversationId: string;
  /** Genesys' point of view: `Inbound` = guest to Genesys, `Outbound` = agent/bot to guest. */
  direction: 'Inbound' | 'Outbound';
  text: string;
  /** Epoch ms shown with the line: Genesys' `channel.time` once known, else the local send time. */
  time: number;
  /**
   * The line's place in its conversation, fixed when the line is first written (design rule 13):
   * a replaced record keeps the order it was first stored with. The guest's own lines take the
   * order given at `send()` (send order, whatever time the server stamps later); other lines are
   * placed among them by server time when written (see `transcriptWriter`). Records stored without
   * one get `time × 1000`. Lines sort by `order`, then `time`, then insertion.
   */
  order?: number;
  /** For the guest's own messages: the outbox status. */
  status?: 'pending' | 'sending' | 'sent' | 'failed';
  /** Server-side message id once known (matches history entries). */
  serverId?: string;
  /** `Human` | `Bot` | `System` for Outbound messages. */
  originatingEntity?: string;
  /** Optional event kind for non-text lines (e.g. `Presence:Disconnect`). */
  event?: string;
  /** Open Messaging: the last receipt status Genesys reported for this line (`Delivered`, `Failed`). */
  receipt?: string;
  /**
   * Open Messaging webhook lines with an `onMessage`: where handing the message on stands.
   * `pending` from `since` (epoch ms) while a handler runs `onMessage` (a handler that crashed
   * leaves it so, and a later Genesys retry takes it over), `done` once `onMessage` resolved.
   */
  handoff?: { state: 'pending' | 'done'; since: number };
}

/**
 * Whether {@link OutboxStore.claimTranscript} may write over `existing`: there is no line, or it is
 * a hand-off left pending since before `staleBefore`.
 */
export const claimable = (existing: TranscriptRecord | undefined, staleBefore: number): boolean =>
  existing === undefined ||
  (existing.handoff?.state === 'pending' && existing.handoff.since < staleBefore);

/**
 * Durable storage behind an outbox. Every implementation must pass the one contract suite in
 * `test/unit/store-contract.ts`.
 *
 * Rules every store keeps:
 * - a method resolves only after its write committed, and rejects (never hangs) with an
 *   `OutboxError`: `storage-full` (quota), `storage-failed` (any other storage failure), or the
 *   codes a method names (`not-found`, `invalid-id`, `closed`);
 * - `seq` values are assigned by the store and never go backwards, not even after entries are
 *   removed or the store is reopened, whatever the wall clock does (IndexedDB: a hybrid clock
 *   above a durable high-water mark, see docs/store.md);
 * - `heads()` never loads the whole outbox: it reads one entry per conversation via an index.
 */
export interface OutboxStore {
  /** Opens (or creates, or upgrades without losing data) the storage. Idempotent. */
  open(): Promise<void>;
  /**
   * Commits all entries in ONE transaction (group commit) and returns them with their `seq`. An
   * id already stored rejects the whole batch with `invalid-id`. `generatedIds: true` is the
   * caller's word that it generated every id just now from a CSPRNG (the outbox's `send()`), so
   * none can be stored already: a store may then skip its duplicate check (IndexedDB writes with
   * `put` instead of `add`, which a burst pays for). A store may ignore the option.
   */
  append(
    entries: readonly NewEntry[],
    options?: { generatedIds?: boolean },
  ): Promise<StoredEntry[]>;
  /**
   * Replaces the stored entry with the same id (which must exist: otherwise rejects with code
   * `not-found`). With `requeue: true` the entry gets a fresh `seq`, i.e. moves to the back of
   * its conversation's line. Resolves with the entry as stored. `sender: true` marks the
   * dispatcher's own writes (the 'sending' mark before an attempt, a verdict after it): a store
   * with a sender lease (SQLite) refuses them with `lease-lost` once another instance took the
   * lease over, in the same transaction as the write (fencing: a stalled holder that resumes
   * cannot start an attempt or overwrite the new holder's state).
   */
  update(
    entry: StoredEntry,
    options?: { requeue?: boolean; sender?: boolean },
  ): Promise<StoredEntry>;
  /** Removes an entry; removing an absent id is not an error. */
  remove(id: string): Promise<void>;
  get(id: string): Promise<StoredEntry | undefined>;
  /** Every entry (pending, sending, failed), oldest `seq` first. */
  list(): Promise<StoredEntry[]>;
  /**
   * For every conversation, its oldest entry whose status is `pending` or `sending`
   * (failed entries do not hold their conversation), ordered by `seq`. At most `limit` heads.
   */
  heads(limit?: number): Promise<StoredEntry[]>;
  /**
   * Optional: the head of ONE conversation (its oldest `pending`/`sending` entry), read by an
   * index, or `undefined`. With it the sender keeps the heads in memory and reads only the
   * conversation an attempt just settled, so a delivery costs the same whatever the number of
   * waiting conversations; without it every pass reads `heads()` again.
   */
  headOf?(conversationId: string): Promise<StoredEntry | undefined>;
  /**
   * Optional, for stores that several processes share (PostgreSQL, DESIGN rule 11): claims up to
   * `limit` due heads for this process, each conversation by one process at a time, with a lease
   * the store renews while the claimed head is `sending` and that ends when the head is written
   * back in any other state (rescheduled, failed, delivered) or released. A head whose lease ran
   * out (its process died) is due again. `all`: every unclaimed head counts as due (flush).
   * `nextDueAt`: when the earliest head not claimed now becomes due (a lease's end included), so
   * the caller can sleep until then. With it, the outbox never calls `heads()` to send.
   */
  claimDue?(options: ClaimOptions): Promise<ClaimResult>;
  /** Gives back a claimed head that was not attempted after all (undoing its `sending` mark). */
  releaseClaim?(conversationId: string): Promise<void>;
  /**
   * Optional: calls `listener` when another process stored new work (e.g. PostgreSQL
   * LISTEN/NOTIFY), so an idle outbox needs no polling. Returns the unsubscribe function.
   */
  watch?(listener: () => void): () => void;
  /**
   * Optional, for stores that several processes share: while at least one listener follows,
   * calls it (soon, not at once) after another process committed any change to the store, so a
   * process that does not send (a SQLite standby) can tell its waiters and subscribers what the
   * sender did. Costs nothing while nobody follows. Returns the unfollow function.
   */
  follow?(listener: () => void): () => void;
  /** Number of entries (any status). */
  count(): Promise<number>;

  /** Small key-value area for state that must survive a reload (e.g. the guest session token). */
  getMeta(key: string): Promise<unknown>;
  setMeta(key: string, value: unknown): Promise<void>;
  /**
   * Optional: stores `value` under `key` only when no value is stored there, atomically with
   * respect to every other process or tab on the store, and resolves with the value stored
   * afterwards (the one already there, or `value`). For state that several instances may each
   * make on a first start but must share (the guest session token, a generated encryption key):
   * the first writer wins and the others adopt its value. Without it, callers fall back to
   * `getMeta` then `setMeta`, where two instances starting at once can each keep their own.
   */
  setMetaIfAbsent?(key: string, value: unknown): Promise<unknown>;

  /** Inserts or replaces transcript records by `key`. */
  putTranscript(records: readonly TranscriptRecord[]): Promise<void>;
  /**
   * The last `limit` records of a conversation (default: all), ordered by `order` (see
   * {@link TranscriptRecord.order}), then `time`, then insertion.
   */
  listTranscript(conversationId: string, limit?: number): Promise<TranscriptRecord[]>;
  getTranscript(key: string): Promise<TranscriptRecord | undefined>;
  /** Keeps only the last `keep` records of a conversation (in `listTranscript` order). */
  pruneTranscript(conversationId: string, keep: number): Promise<void>;
  /**
   * Optional: writes `record` only when no line has its key yet, or the line there is a hand-off
   * left pending since before `staleBefore` ({@link claimable}); resolves whether it wrote. The
   * check and the write are one atomic step for every process sharing the storage (the Open
   * Messaging webhook's de-duplication: two workers given the same message, one records it).
   * Without it, the outbox reads then writes (atomic within one process only).
   */
  claimTranscript?(record: TranscriptRecord, staleBefore: number): Promise<boolean>;
  /**
   * Optional: writes the transcript records of a delivered entry and removes the entry, in ONE
   * transaction (one commit per delivered message instead of two). Without it the outbox calls
   * `putTranscript` then `remove`.
   */
  removeDelivered?(id: string, records: readonly TranscriptRecord[]): Promise<void>;

  /**
   * Optional: the reads and writes of a pass over everything the store holds (the encryption
   * wrapper's background sweep seals the lines of conversations nobody lists). A method that
   * resolves with them, so a browser store can keep them in a chunk of their own.
   */
  sweep?(): Promise<StoreSweep>;
  /**
   * Optional: the coordinator that keeps one sender per shared storage (SQLite: a lease row in
   * the file, so two processes on one file never both send). `createOutbox` uses it when it is
   * given no `coordinator` option. `clock` is the outbox's clock.
   */
  coordinator?(options: { clock: Clock }): Coordinator;

  /**
   * Optional: removes everything this store holds (entries, transcript, meta, anything moved
   * aside) from the storage itself, not only from view, then closes it (`Outbox.wipe()`).
   * Without it, `wipe()` removes entries and the transcript of known conversations one by one.
   */
  wipe?(): Promise<void>;

  /** Closes the storage; later calls reject with code `closed`. */
  close(): Promise<void>;
}

/** What {@link OutboxStore.sweep} resolves with. */
export interface StoreSweep {
  /** Up to `limit` transcript records of every conversation, in `key` order, keys after `after`. */
  scanTranscript(after: string | undefined, limit: number): Promise<TranscriptRecord[]>;
  /**
   * In ONE transaction, sets the `text` of each line `key` to `to` where it is still `from`: a
   * line written since it was read keeps its newer text; nothing else of a line changes.
   */
  replaceTranscriptText(
    changes: readonly { key: string; from: string; to: string }[],
  ): Promise<void>;
  /** The keys of every value stored with `setMeta`. */
  metaKeys(): Promise<string[]>;
  /**
   * Optional: replaces the value of each record the store itself moved aside (its own quarantine
   * of unreadable entries, kept as they were read) by what `seal(n, value)` returns for it, where
   * it is still that value; `undefined` keeps it. The encryption sweep seals them: a record
   * quarantined before encryption was turned on holds plaintext.
   */
  sealQuarantine?(
    seal: (n: number, value: string) => string | undefined | Promise<string | undefined>,
  ): Promise<void>;
  /**
   * Rewrites the storage so that content replaced or removed earlier no longer lingers in it
   * (SQLite: `VACUUM` and a WAL checkpoint; free pages keep old rows otherwise).
   */
  compact?(): Promise<void>;
}

/** What {@link OutboxStore.claimDue} takes. */
export interface ClaimOptions {
  limit: number;
  /** Epoch ms, the caller's clock. */
  now: number;
  all?: boolean;
  /**
   * Store each claimed head as its attempt's start in the same write (one round trip less per
   * delivery): status `sending`, and `inDoubtSince` kept when set, else the entry's `createdAt`
   * when it was `sending` or its `lastError.code` is one of `inDoubtCodes`, else `now`. A store
   * that does this answers `sending: true` (and `releaseClaim` undoes it); one that ignores the
   * option leaves the write to the caller.
   */
  sending?: { inDoubtCodes: readonly string[] };
}

/** What {@link OutboxStore.claimDue} resolves with. */
export interface ClaimResult {
  /** The claimed heads as they were before the claim. */
  entries: StoredEntry[];
  nextDueAt: number | undefined;
  /** The claim stored them as their attempts' start (see {@link ClaimOptions.sending}). */
  sending?: boolean;
}
