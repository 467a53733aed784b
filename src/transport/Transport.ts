import type { ErrorInfo } from '../errors/OutboxError.js';
import type { OutboxEntry } from '../outbox/entry.js';
import type { OutboxStore, TranscriptRecord } from '../store/OutboxStore.js';
import type { Clock } from '../internal/clock.js';
import type { Logger } from '../internal/logger.js';
import type { OutboxEvent } from '../outbox/events.js';

/**
 * What one delivery attempt came to. Produced by a transport, usually through the pure
 * classifiers in `retry/classify.ts`; acted on by the dispatcher (design rule 4).
 */
export type SendOutcome =
  /** The server has the message (2xx, 409, guest echo, found in history). */
  (
    | { kind: 'delivered'; serverId?: string; serverTime?: number }
    /** Transient failure that reached the server or may have: back off, counts as an attempt. */
    | { kind: 'retry'; error: ErrorInfo }
    /** The network was unreachable (nothing was sent): back off without spending an attempt. */
    | { kind: 'offline'; error: ErrorInfo }
    /** Rate limited: wait exactly `retryAfterMs` (no jitter), then try again. */
    | { kind: 'rate-limited'; retryAfterMs: number; error: ErrorInfo }
    /** Credentials or session were refreshed and failed again: try once more now, then back off. */
    | { kind: 'reauth'; error: ErrorInfo }
    /** Permanent: the entry becomes `failed` with this reason and is kept. */
    | { kind: 'rejected'; error: ErrorInfo }
  ) & {
    /**
     * The transport's verdict on the entry's in-doubt state after this attempt: a number = in doubt
     * since then (epoch ms the unanswered attempt went out), `null` = not in doubt (the server
     * proved earlier attempts absent, or the transport settled them explicitly). Absent: the
     * outbox keeps what it knew, and marks the entry in doubt after a `retry` coded `in-doubt` or
     * `timeout`.
     */
    inDoubtSince?: number | null;
  };

/** Per-attempt information handed to {@link Transport.send}. */
export interface SendContext {
  /** Aborted when the outbox closes; a transport must stop waiting and settle promptly. */
  signal: AbortSignal;
  /** 1 for the first attempt of this entry. */
  attempt: number;
  /**
   * True when an earlier attempt may have reached the server without us learning the result
   * (the process stopped while it was in flight, or it timed out / the connection dropped
   * before an answer). A transport without server-side idempotency should reconcile first.
   */
  inDoubt: boolean;
  /**
   * With `inDoubt`: epoch ms when the earliest unanswered attempt started (the outbox stores it
   * with the entry, so it survives restarts and attempts that did not reach the network).
   */
  inDoubtSince?: number | undefined;
}

/** What the outbox gives a transport when it starts. */
export interface TransportContext {
  /** The outbox's store: `getMeta`/`setMeta` for state that must survive reloads, transcript methods. */
  store: OutboxStore;
  clock: Clock;
  logger: Logger;
  /** Random numbers in [0, 1) (injected for tests). */
  random: () => number;
  /** Tell the outbox to try due entries now (e.g. the transport has just (re)connected). */
  wake(): void;
  /** Connectivity evidence from the transport: `true` after a successful exchange, `false` on a network failure. */
  reportConnectivity(online: boolean): void;
  /** Aborted when the outbox closes. */
  signal: AbortSignal;
  /**
   * Adds or updates transcript lines the outbox cannot write itself: agent/bot messages, and the
   * guest's messages sent from another tab or device (the outbox writes the line of each entry it
   * delivered, from the outcome's `serverId`/`serverTime`). Lines are keyed by `key`; writing the
   * same key twice never duplicates a line.
   */
  recordTranscript(records: readonly TranscriptRecord[]): Promise<void>;
  /** Tells the outbox's subscribers (`session-closed`); optional for hosts other than the outbox. */
  emit?(event: OutboxEvent): void;
  /** True while this instance is the one sender (always true outside browsers with several tabs). */
  isLeader(): boolean;
}

/** Delivers one outbox entry to a server. */
export interface Transport {
  /** Short name for logs. */
  readonly name: string;
  /**
   * How many conversations may have an entry in flight at once. Entries of one conversation are
   * always one at a time. @default 4
   */
  readonly concurrency?: number;
  /**
   * The server this transport talks to, as an absolute URL: where an outbox without browser
   * network events (Node) probes after a network failure, to resume as soon as it answers.
   */
  readonly endpoint?: string;
  /** Called once when the outbox starts, before any `send`. */
  start?(context: TransportContext): void | Promise<void>;
  /** One attempt to deliver `entry`. Must not throw for server or network failures: return an outcome. */
  send(entry: OutboxEntry, context: SendContext): Promise<SendOutcome>;
  /**
   * The network may be back (the browser went online, the page became visible again): reconnect
   * now instead of waiting out a reconnect backoff. Called before the outbox retries its entries.
   */
  resume?(): void;
  /**
   * Optional: forget this visitor on the server side too, for `Outbox.wipe()`, which calls it
   * before it deletes the local data (the guest transport clears the Genesys conversation).
   * Best effort: resolves, never rejects, once done or given up (offline: nothing to do); the
   * transport is closed afterwards and forgets any credential it kept in memory.
   */
  wipe?(): Promise<void>;
  /** Releases sockets and timers. */
  close?(): Promise<void>;
}
