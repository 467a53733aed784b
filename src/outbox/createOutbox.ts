import { OutboxError, isOutboxError } from '../errors/OutboxError.js';
import type { Clock } from '../internal/clock.js';
import { systemClock } from '../internal/clock.js';
import type { Logger } from '../internal/logger.js';
import { consoleLogger } from '../internal/logger.js';
import { uuid } from '../internal/uuid.js';
import { resolveRetryOptions } from '../retry/options.js';
import type { RetryOptions } from '../retry/options.js';
import type { OutboxStore, TranscriptRecord } from '../store/OutboxStore.js';
import { indexedDbStore } from '../store/indexedDb.js';
import { requestPersistentStorage } from '../store/persist.js';
import type { Transport } from '../transport/Transport.js';
import type { Connectivity } from '../connectivity/Connectivity.js';
import { defaultConnectivity } from '../connectivity/auto.js';
import type { Coordinator } from '../coordination/Coordinator.js';
import { soloCoordinator } from '../coordination/Coordinator.js';
import { defaultCoordinator } from '../coordination/auto.js';
import { TranscriptWriter } from '../transcript/transcript.js';
import type { Transcript, TranscriptOptions } from '../transcript/transcript.js';
import { Dispatcher } from './dispatcher.js';
import { toPublicEntry } from './entry.js';
import type { NewEntry, OutboxEntry, StoredEntry } from './entry.js';
import type { OutboxEvent } from './events.js';
import { validateSendInput } from './validate.js';
import type { SendInput } from './validate.js';

/** Options of {@link createOutbox}. */
export interface OutboxOptions {
  /** Delivers entries: `guestTransport`, `httpTransport`, `openMessagingTransport` or your own. */
  transport: Transport;
  /**
   * Durable storage. @default `indexedDbStore({ name })` where `indexedDB` exists; required elsewhere
   * (Node: `sqliteStore` from `genesys-webmessaging-outbox/node`, or `memoryStore()` for tests).
   */
  store?: OutboxStore;
  /** Namespace for the database, the Web Lock and the BroadcastChannel. @default 'genesys-webmessaging-outbox' */
  name?: string;
  /** Backoff and expiry policy. */
  retry?: RetryOptions;
  /** Injected time (tests). @default the system clock */
  clock?: Clock;
  /** Random numbers in [0, 1) for jitter (tests). @default Math.random */
  random?: () => number;
  /** Longest accepted text, in UTF-16 code units. @default 4000 */
  maxTextLength?: number;
  /** Conversation used when `send()` gets none. @default 'default' */
  defaultConversationId?: string;
  /** Conversations with an entry in flight at once. @default the transport's, else 4 */
  concurrency?: number;
  /** Online/offline signal. @default browser events where there is a `window`, else always online */
  connectivity?: Connectivity;
  /**
   * One sender per origin. @default Web Locks + BroadcastChannel in browsers (rule 7); `false`
   * makes this instance always send (one process, or tests).
   */
  coordinator?: Coordinator | false;
  /** Transcript retention; `false` keeps no transcript of delivered messages. @default { retention: 1000 } */
  transcript?: TranscriptOptions | false;
  /** Where warnings go (never message text). @default console warnings and errors */
  logger?: Logger;
  /**
   * Ask the browser to keep the outbox's storage through storage pressure and Safari's 7-day
   * eviction (`navigator.storage.persist()`; the browser may say no). @default false
   */
  persistentStorage?: boolean;
}

/** The durable outbox. See the README for the full semantics of each method. */
export interface Outbox {
  /** Stores the message durably, then resolves; rejects with `OutboxError` and stores nothing on bad input. */
  send(input: SendInput): Promise<OutboxEntry>;
  /** Pending, in-flight and failed entries, oldest first. */
  list(): Promise<OutboxEntry[]>;
  /** Resolves with the entry once its status is `sent` or `failed`. */
  whenSettled(id: string): Promise<OutboxEntry>;
  /** Every status change (in every tab); returns the unsubscribe function. */
  subscribe(listener: (event: OutboxEvent) => void): () => void;
  /** Moves a failed entry back to pending, at the back of its conversation's line. */
  retry(id: string): Promise<void>;
  /** Removes an entry for good: the user's explicit choice, never implicit. */
  discard(id: string): Promise<void>;
  /** Tries everything pending now, ignoring backoff (still honouring rate limits). */
  flush(): Promise<void>;
  /** The local transcript (delivered messages and what is still in the outbox). */
  readonly transcript: Transcript;
  /** Stops sending, waits for attempts in flight, closes the store and the transport. */
  close(): Promise<void>;
}

const DEFAULT_NAME = 'genesys-webmessaging-outbox';
const SETTLED_MEMORY = 1000;

/**
 * Creates an outbox and resumes whatever the store holds (a reload resumes every pending entry,
 * including one that was in flight when the page went away).
 *
 * @example
 * const outbox = await createOutbox({ transport: guestTransport({ region: 'eu_west_1', deploymentId }) });
 * const entry = await outbox.send({ text: 'Hello' }); // durable now
 */
export async function createOutbox(options: OutboxOptions): Promise<Outbox> {
  if (typeof options !== 'object' || options === null) {
    throw new OutboxError('invalid-options', 'options object required');
  }
  const transport = options.transport as Transport | undefined;
  if (transport === undefined || typeof transport.send !== 'function') {
    throw new OutboxError('invalid-options', 'options.transport required');
  }
  const name = options.name ?? DEFAULT_NAME;
  if (typeof name !== 'string' || name === '') {
    throw new OutboxError('invalid-options', 'options.name: non-empty string required');
  }
  const retry = resolveRetryOptions(options.retry);
  const maxTextLength = positiveInt('maxTextLength', options.maxTextLength, 4000);
  const concurrency = positiveInt('concurrency', options.concurrency ?? transport.concurrency, 4);
  const defaultConversationId = options.defaultConversationId ?? 'default';
  const retention =
    options.transcript === false
      ? 0
      : positiveInt('transcript.retention', options.transcript?.retention, 1000);
  // The default store reports unreadable records as outbox events, once the outbox exists.
  const late: { corrupt?: (info: { key: unknown; reason: string }) => void } = {};
  let store = options.store;
  if (store === undefined) {
    if (typeof indexedDB === 'undefined') {
      throw new OutboxError('invalid-options', 'no indexedDB: pass options.store');
    }
    store = indexedDbStore({ name, onCorrupt: (info) => late.corrupt?.(info) });
  }
  const outbox = new OutboxImpl({
    ...options,
    name,
    store,
    transport,
    retry,
    maxTextLength,
    concurrency,
    defaultConversationId,
    retention,
  });
  late.corrupt = (info) => outbox.report({ type: 'corrupt-record', ...info });
  if (options.persistentStorage === true) await requestPersistentStorage();
  await outbox.start();
  return outbox;
}

function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new OutboxError('invalid-options', `${name} must be an integer >= 1: ${String(value)}`);
  }
  return value;
}

interface Resolved extends Omit<OutboxOptions, 'retry' | 'store' | 'transcript'> {
  name: string;
  store: OutboxStore;
  retry: ReturnType<typeof resolveRetryOptions>;
  maxTextLength: number;
  concurrency: number;
  defaultConversationId: string;
  retention: number;
}

interface Waiter {
  resolve(entry: OutboxEntry): void;
  reject(error: unknown): void;
}

class OutboxImpl implements Outbox {
  private readonly store: OutboxStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly connectivity: Connectivity;
  private readonly coordinator: Coordinator;
  private readonly abort = new AbortController();
  private readonly dispatcher: Dispatcher;
  private readonly listeners = new Set<(event: OutboxEvent) => void>();
  private readonly waiters = new Map<string, Waiter[]>();
  /** Entries settled during this run, so `whenSettled` answers for an id already delivered. */
  private readonly settled = new Map<string, OutboxEntry>();
  private readonly writer: TranscriptWriter;
  private batch: { entry: NewEntry; resolve(e: StoredEntry): void; reject(e: unknown): void }[] =
    [];
  private leader = false;
  private closed = false;
  private unsubscribeConnectivity: () => void = () => {};
  readonly transcript: Transcript;

  constructor(private readonly o: Resolved) {
    this.store = o.store;
    this.clock = o.clock ?? systemClock;
    this.logger = o.logger ?? consoleLogger;
    this.connectivity = o.connectivity ?? defaultConnectivity();
    this.coordinator =
      o.coordinator === false ? soloCoordinator() : (o.coordinator ?? defaultCoordinator(o.name));
    this.writer = new TranscriptWriter(this.store, o.retention, o.defaultConversationId, (record) =>
      this.emit({ type: 'transcript', record }),
    );
    this.transcript = this.writer;
    this.dispatcher = new Dispatcher({
      store: this.store,
      transport: o.transport,
      clock: this.clock,
      random: o.random ?? Math.random,
      retry: o.retry,
      logger: this.logger,
      concurrency: o.concurrency,
      signal: this.abort.signal,
      canSend: () => this.leader && !this.closed,
      isOnline: () => this.connectivity.isOnline(),
      reportConnectivity: (online) => this.connectivity.report?.(online),
      changed: (entry) => this.changed(entry),
      delivered: (entry, outcome) =>
        o.retention === 0
          ? Promise.resolve()
          : this.writer.record([
              {
                key: entry.id,
                conversationId: entry.conversationId,
                direction: 'Inbound',
                text: entry.text,
                time: outcome.serverTime ?? this.clock.now(),
                status: 'sent',
                ...(outcome.serverId === undefined ? {} : { serverId: outcome.serverId }),
              },
            ]),
    });
  }

  async start(): Promise<void> {
    await this.store.open();
    const { transport } = this.o;
    await transport.start?.({
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      random: this.o.random ?? Math.random,
      signal: this.abort.signal,
      wake: () => this.dispatcher.wake('online'),
      reportConnectivity: (online) => this.connectivity.report?.(online),
      recordTranscript: (records: readonly TranscriptRecord[]) =>
        this.o.retention === 0 ? Promise.resolve() : this.writer.record(records),
      isLeader: () => this.leader,
    });
    let wasOnline = this.connectivity.isOnline();
    this.unsubscribeConnectivity = this.connectivity.subscribe((online) => {
      if (online !== wasOnline) {
        wasOnline = online;
        this.emit({ type: 'connectivity', online });
      }
      // `true` also arrives without a change (page visible again, restored from the back/forward
      // cache: timers may have been frozen), so look at the store every time.
      if (online) this.dispatcher.wake('online');
    });
    this.coordinator.start({
      onLeadershipChange: (isLeader) => {
        this.leader = isLeader;
        if (isLeader) this.dispatcher.wake();
      },
      onRemoteEvent: (event) => this.deliverEvent(event),
      onWakeRequest: () => this.dispatcher.wake('online'),
    });
  }

  send(input: SendInput): Promise<OutboxEntry> {
    if (this.closed) return Promise.reject(closedError());
    let valid: ReturnType<typeof validateSendInput>;
    try {
      valid = validateSendInput(input, this.o.maxTextLength, this.o.defaultConversationId);
    } catch (error: unknown) {
      return Promise.reject(error);
    }
    const entry: NewEntry = {
      id: uuid(),
      ...valid,
      status: 'pending',
      attempts: 0,
      createdAt: this.clock.now(),
    };
    return new Promise<StoredEntry>((resolve, reject) => {
      // Group commit: every send() of this tick shares one transaction, each resolving after it.
      if (this.batch.length === 0) queueMicrotask(() => void this.commitBatch());
      this.batch.push({ entry, resolve, reject });
    }).then((stored) => {
      const pub = toPublicEntry(stored);
      this.emit({ type: 'status', entry: pub });
      this.requestSend();
      return pub;
    });
  }

  private async commitBatch(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    try {
      const stored = await this.store.append(batch.map((b) => b.entry));
      batch.forEach((b, i) => b.resolve(stored[i] as StoredEntry));
    } catch (error: unknown) {
      const e = isOutboxError(error)
        ? error
        : new OutboxError('storage-failed', 'could not store', { cause: error });
      for (const b of batch) b.reject(e);
    }
  }

  /** The leader looks at the store now; a follower asks the leader to. */
  private requestSend(): void {
    if (this.leader) this.dispatcher.wake();
    else this.coordinator.requestWake();
  }

  async list(): Promise<OutboxEntry[]> {
    this.assertOpen();
    return (await this.store.list()).map(toPublicEntry);
  }

  async whenSettled(id: string): Promise<OutboxEntry> {
    this.assertOpen();
    const done = this.settled.get(id);
    if (done !== undefined) return done;
    const stored = await this.store.get(id);
    const settledMeanwhile = this.settled.get(id);
    if (settledMeanwhile !== undefined) return settledMeanwhile;
    if (stored === undefined) throw notFound(id);
    if (stored.status === 'failed') return toPublicEntry(stored);
    return new Promise<OutboxEntry>((resolve, reject) => {
      const list = this.waiters.get(id) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(id, list);
    });
  }

  subscribe(listener: (event: OutboxEvent) => void): () => void {
    if (typeof listener !== 'function') {
      throw new OutboxError('invalid-options', 'listener must be a function');
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async retry(id: string): Promise<void> {
    this.assertOpen();
    const entry = await this.store.get(id);
    if (entry === undefined) throw notFound(id);
    if (entry.status !== 'failed') {
      throw new OutboxError('invalid-state', `entry is ${entry.status}, not failed`);
    }
    const next: StoredEntry = {
      ...entry,
      status: 'pending',
      attempts: 0,
      offlineAttempts: 0,
      retriedAt: this.clock.now(),
    };
    delete next.nextAttemptAt;
    const saved = await this.store.update(next, { requeue: true });
    this.settled.delete(id);
    this.changed(saved);
    this.requestSend();
  }

  async discard(id: string): Promise<void> {
    this.assertOpen();
    const entry = await this.store.get(id);
    if (entry === undefined) throw notFound(id);
    await this.store.remove(id);
    this.emit({ type: 'discarded', id, conversationId: entry.conversationId });
    this.rejectWaiters(id, new OutboxError('not-found', `entry ${id} discarded`));
  }

  async flush(): Promise<void> {
    this.assertOpen();
    if (!this.leader) {
      this.coordinator.requestWake();
      return;
    }
    this.dispatcher.wake('flush');
    await this.dispatcher.idle();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribeConnectivity();
    this.dispatcher.stop();
    this.abort.abort(closedError());
    await this.dispatcher.idle();
    await this.coordinator.close();
    await this.o.transport.close?.();
    this.connectivity.close?.();
    await this.store.close();
    for (const id of [...this.waiters.keys()]) this.rejectWaiters(id, closedError());
    this.listeners.clear();
  }

  /** Publishes an event from a collaborator (e.g. the default store's corrupt-record report). */
  report(event: OutboxEvent): void {
    this.logger.warn(event.type);
    this.emit(event);
  }

  private changed(entry: StoredEntry): void {
    this.emit({ type: 'status', entry: toPublicEntry(entry) });
  }

  /** Local listeners, waiters, and the other tabs. */
  private emit(event: OutboxEvent): void {
    this.deliverEvent(event);
    if (event.type !== 'connectivity') this.coordinator.broadcast(event);
  }

  private deliverEvent(event: OutboxEvent): void {
    if (
      event.type === 'status' &&
      (event.entry.status === 'sent' || event.entry.status === 'failed')
    ) {
      this.settled.delete(event.entry.id);
      this.settled.set(event.entry.id, event.entry);
      // Bounded: enough for callers awaiting recent sends, not a leak in a long-running process.
      if (this.settled.size > SETTLED_MEMORY) {
        this.settled.delete(this.settled.keys().next().value as string);
      }
      for (const w of this.waiters.get(event.entry.id) ?? []) w.resolve(event.entry);
      this.waiters.delete(event.entry.id);
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error: unknown) {
        this.logger.error('listener threw', { error: String(error) });
      }
    }
  }

  private rejectWaiters(id: string, error: OutboxError): void {
    for (const w of this.waiters.get(id) ?? []) w.reject(error);
    this.waiters.delete(id);
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

function closedError(): OutboxError {
  return new OutboxError('closed', 'outbox closed');
}

function notFound(id: string): OutboxError {
  return new OutboxError('not-found', `no entry ${String(id)}`);
}
