import { OutboxError, isOutboxError } from '../errors/OutboxError.js';
import type { Clock } from '../internal/clock.js';
import { systemClock } from '../internal/clock.js';
import type { Logger } from '../internal/logger.js';
import { consoleLogger } from '../internal/logger.js';
import { uuid } from '../internal/uuid.js';
import { resolveRetryOptions } from '../retry/options.js';
import type { RetryOptions } from '../retry/options.js';
import type { OutboxStore } from '../store/OutboxStore.js';
import type { EncryptionOptions } from '../store/encrypted.js';
import { indexedDbStore } from '../store/indexedDb.js';
import { requestPersistentStorage } from '../store/persist.js';
import type { Transport } from '../transport/Transport.js';
import type { Connectivity } from '../connectivity/Connectivity.js';
import { defaultConnectivity } from '../connectivity/auto.js';
import type { Coordinator } from '../coordination/Coordinator.js';
import { soloCoordinator } from '../coordination/Coordinator.js';
import { defaultCoordinator } from '../coordination/auto.js';
import { transcriptWriter } from '../transcript/transcript.js';
import type { TranscriptOptions, TranscriptWriter } from '../transcript/transcript.js';
import { lazyDispatcher } from './lazyDispatcher.js';
import type { MethodsHost, Waiter } from './methods.js';
import type { DispatcherHost } from './dispatcher.js';
import { chunk } from '../internal/chunk.js';
import { orderOf, toPublicEntry } from './entry.js';
import type { NewEntry, OutboxEntry, StoredEntry } from './entry.js';
import type { OutboxEvent } from './events.js';
import { checkMethods, invalidOptions, numberOption, readOptions } from '../internal/options.js';
import { assertConversationId, validateSendInput } from './validate.js';
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
   * Ask the browser to keep the outbox's storage through storage pressure
   * (`navigator.storage.persist()`; the browser may say no). It does not lift Safari's 7-day cap
   * on the storage of sites not visited for a week. @default false
   */
  persistentStorage?: boolean;
  /**
   * AES-GCM encryption at rest of text, metadata, transcript lines and meta values (the guest
   * session token), for any store; see docs/privacy.md. `{}` in a browser generates a
   * non-extractable key kept in the outbox's database; Node needs `key`. @default off
   */
  encryption?: EncryptionOptions;
}

/**
 * Every name of {@link OutboxOptions}; anything else is refused (`invalid-options`) so that a typo
 * is not silently ignored. A new option is added here too.
 */
const OPTION_NAMES =
  'transport store name retry clock random maxTextLength defaultConversationId concurrency connectivity coordinator transcript logger persistentStorage encryption';

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
  /**
   * Tries everything pending now, ignoring backoff (still honouring rate limits). In a tab that is
   * not the sender it only asks the sending tab to look now: entries that waited for the network
   * go at once, entries in backoff keep their time.
   */
  flush(): Promise<void>;
  /** The local transcript (delivered messages and what is still in the outbox). */
  readonly transcript: TranscriptWriter;
  /**
   * The outbox's view of the network: `false` between a `connectivity` event with `online: false`
   * and the next with `online: true`. For UIs: `outboxConnectivity(outbox)`, `useConnectivity`.
   */
  readonly online: boolean;
  /** Stops sending, waits for attempts in flight, closes the store and the transport. */
  close(): Promise<void>;
  /**
   * Forgets the visitor: tells every tab (their outboxes close, with a `wiped` event), ends the
   * remote session where the transport can (guest: clears the Genesys conversation when
   * online), closes this outbox, then deletes every local record: entries, transcript, the
   * session token, the generated key, the tutorial's old database. A new outbox starts afresh.
   */
  wipe(): Promise<void>;
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
export function createOutbox(options: OutboxOptions): Promise<Outbox> {
  return openOutbox(options);
}

/**
 * {@link createOutbox}, with `beforeStart(store)` run once the store is open and before anything
 * is sent (internal: `OfflineMessageQueue` imports the tutorial's queue there).
 */
export async function openOutbox(
  options: OutboxOptions,
  beforeStart?: (store: OutboxStore) => Promise<void>,
): Promise<Outbox> {
  options = readOptions('options', options, OPTION_NAMES);
  const transport = options.transport;
  // Objects of the wrong shape fail here, not as a TypeError (or an unhandled rejection) later.
  for (const [what, value, methods] of [
    ['transport', transport ?? 0, 'send'],
    ['store', options.store, 'open append update get heads close'],
    ['clock', options.clock, 'now setTimeout clearTimeout'],
    ['connectivity', options.connectivity, 'isOnline subscribe'],
    ['logger', options.logger, 'debug warn error'],
    ['coordinator', options.coordinator || undefined, 'start isLeader broadcast requestWake close'],
    ['random', options.random && { random: options.random }, 'random'],
  ] as const) {
    checkMethods(what, value, methods);
  }
  const name = options.name ?? DEFAULT_NAME;
  if (typeof name !== 'string' || name === '') {
    throw invalidOptions('options.name: non-empty string required');
  }
  const retry = resolveRetryOptions(options.retry);
  const maxTextLength = numberOption('maxTextLength', options.maxTextLength, 4000, 1, true);
  const concurrency = numberOption(
    'concurrency',
    options.concurrency ?? transport.concurrency,
    4,
    1,
    true,
  );
  const defaultConversationId = options.defaultConversationId ?? 'default';
  try {
    assertConversationId(defaultConversationId);
  } catch {
    throw invalidOptions('defaultConversationId: string required');
  }
  const retention =
    options.transcript === false
      ? 0
      : numberOption(
          'transcript.retention',
          options.transcript &&
            readOptions('transcript', options.transcript, 'retention').retention,
          1000,
          1,
          true,
        );
  if (options.store === undefined && typeof indexedDB === 'undefined') {
    throw invalidOptions('no indexedDB: pass options.store');
  }
  const logger = options.logger ?? consoleLogger;
  const onCorrupt = (info: { key: unknown; reason: string }): void => {
    logger.warn('corrupt-record');
    emit({ type: 'corrupt-record', ...info });
  };
  // The default store reports unreadable records as outbox events.
  const base = options.store ?? indexedDbStore({ name, onCorrupt });
  const encryption = options.encryption;
  // Loaded only when asked for: an outbox without encryption does not download it.
  const store =
    encryption === undefined
      ? base
      : (await import('../store/encrypted.js')).encryptOutboxStore(
          OutboxError,
          base,
          encryption,
          defaultConversationId,
          onCorrupt,
        );
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const connectivity = options.connectivity ?? defaultConnectivity(transport.endpoint);
  // A store shared by processes brings its own (SQLite: a lease row in the file).
  const coordinator =
    options.coordinator === false
      ? soloCoordinator()
      : (options.coordinator ?? store.coordinator?.({ clock }) ?? defaultCoordinator(name));
  const abort = new AbortController();
  const listeners = new Set<(event: OutboxEvent) => void>();
  const waiters = new Map<string, Waiter[]>();
  // A standby on a store shared by processes (SQLite) hears what the sender did by following
  // the store, only while someone here waits or listens. Loaded only for such a store.
  const follow = store.follow
    ? (await import('./follow.js')).default(
        store,
        () => !coordinator.isLeader() && waiters.size + listeners.size,
        waiters,
        deliverEvent,
        toPublicEntry,
        logger,
      )
    : undefined;
  /** Entries settled during this run, so `whenSettled` answers for an id already delivered. */
  const settled = new Map<string, OutboxEntry>();
  let batch: { entry: NewEntry; resolve(e: OutboxEntry): void; reject(e: unknown): void }[] = [];
  let closed = false;
  let unsubscribeConnectivity: () => void = () => {};

  const writer = transcriptWriter(store, retention, defaultConversationId, (record) =>
    emit({ type: 'transcript', record }),
  );
  /**
   * What the drain loop's chunk (dispatcher.ts) and the methods chunk (methods.ts) use of this
   * outbox: one object for both.
   */
  const host: DispatcherHost & MethodsHost = {
    store,
    transport,
    clock,
    random,
    retry,
    logger,
    concurrency,
    isClosed: () => closed,
    deliver: deliverEvent,
    record: retention === 0 ? undefined : writer.record,
    lib: { isOutboxError, toPublicEntry, orderOf, OutboxError },
    coordinator,
    settled,
    waiters,
    follow,
    emit,
    requestSend,
    subscribe: (listener) => outbox.subscribe(listener),
    connectivity,
    listeners,
    abort,
    name,
    defaultConversationId,
    shut() {
      closed = true;
      unsubscribeConnectivity();
      unwatch?.();
    },
  };
  const dispatcher = lazyDispatcher(host);

  /** Local listeners, waiters, and the other tabs. */
  function emit(event: OutboxEvent): void {
    deliverEvent(event);
    if (event.type !== 'connectivity') coordinator.broadcast(event);
  }

  function deliverEvent(event: OutboxEvent): void {
    follow?.(event);
    if (
      event.type === 'status' &&
      (event.entry.status === 'sent' || event.entry.status === 'failed')
    ) {
      settled.delete(event.entry.id);
      settled.set(event.entry.id, event.entry);
      // Bounded: enough for callers awaiting recent sends, not a leak in a long-running process.
      if (settled.size > SETTLED_MEMORY) {
        settled.delete(settled.keys().next().value as string);
      }
    }
    // The whenSettled callers (methods.ts: there are none before its chunk arrived, here or in
    // a follower) hear that their entry settled, or was discarded (here or elsewhere).
    host.settle?.(event);
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error: unknown) {
        // Its name only: a listener's message may quote the entry it was given (rule 14).
        logger.error('listener threw', { error: (error as { name?: unknown } | null)?.name });
      }
    }
    // Another tab wiped the storage (a chunk that cannot be fetched leaves this one open).
    if (event.type === 'wiped' && !closed) outbox.close().catch(() => {});
  }

  /**
   * The leader looks at the store now; a follower asks the leader to. A new entry whose
   * conversation already has one in flight (or when every slot is busy) cannot start yet, and the
   * settling attempt (or the freed slot) looks again anyway: skipping that wake keeps a burst of
   * sends from running a `heads()` read between every two commits.
   */
  function requestSend(conversationId?: string): void {
    if (!coordinator.isLeader()) coordinator.requestWake();
    else if (conversationId === undefined) dispatcher.wake();
    else dispatcher.wakeFor(conversationId);
  }

  async function commitBatch(): Promise<void> {
    const committing = batch;
    batch = [];
    let stored: StoredEntry[];
    try {
      // Every id here is send()'s own uuid(): the store need not look for it first.
      stored = await store.append(
        committing.map((b) => b.entry),
        { generatedIds: true },
      );
    } catch (error: unknown) {
      const e = isOutboxError(error)
        ? error
        : new OutboxError('storage-failed', 'could not store', { cause: error });
      for (const b of committing) b.reject(e);
      return;
    }
    committing.forEach((b, i) => {
      try {
        const pub = toPublicEntry(stored[i] as StoredEntry);
        emit({ type: 'status', entry: pub });
        requestSend(pub.conversationId);
        b.resolve(pub);
      } catch (error: unknown) {
        b.reject(error); // this entry's send() only, as a throwing `.then` would
      }
    });
  }

  /**
   * whenSettled, retry, discard, flush, list, close and wipe: a chunk (methods.ts) fetched now,
   * not awaited; a call made before it arrived waits for it (in call order), one that finds it
   * unfetchable rejects with `load-failed` (close() too: the outbox then keeps running, as if
   * close() had not been called) and the next call fetches it again.
   */
  const methods = chunk(
    () => import('./methods.js').then((m) => m.outboxMethods(host, dispatcher)),
    'load-failed',
  );
  methods.prefetch();
  const outbox = {
    transcript: writer,

    send(input) {
      // What the executor throws (closed, bad input) is the promise's rejection: send() never
      // throws, and stores nothing then.
      return new Promise<OutboxEntry>((resolve, reject) => {
        if (closed) throw new OutboxError('closed', 'outbox closed');
        const valid = validateSendInput(input, maxTextLength, defaultConversationId);
        const now = clock.now();
        const entry: NewEntry = {
          id: uuid(),
          ...valid,
          status: 'pending',
          attempts: 0,
          createdAt: now,
          order: writer.nextOrder(now), // the transcript line's place, for good (rule 13)
        };
        // Group commit: every send() of this tick shares one transaction, each resolving after it
        // (and after its status event: see commitBatch).
        if (batch.length === 0) queueMicrotask(commitBatch);
        batch.push({ entry, resolve, reject });
      });
    },

    get online() {
      return wasOnline;
    },

    subscribe(listener) {
      if (typeof listener !== 'function') {
        throw invalidOptions('listener must be a function');
      }
      listeners.add(listener);
      follow?.();
      return () => {
        listeners.delete(listener);
        follow?.();
      };
    },
  } as Outbox;
  // The methods chunk's methods, by name. Each refuses a closed outbox itself (close() gives the
  // same promise again), and only they close it: once closed, the chunk is there.
  methods.bind(outbox, 'list whenSettled retry discard flush close wipe');

  if (options.persistentStorage === true) await requestPersistentStorage();

  await store.open();
  // Without the key an encrypted store would send its ciphertext: refuse it.
  if (!encryption && (await store.getMeta('encryption')) !== undefined) {
    await store.close();
    throw new OutboxError('encryption-key-required', 'store is encrypted');
  }
  await beforeStart?.(store);
  await transport.start?.({
    store,
    clock,
    logger,
    random,
    signal: abort.signal,
    wake: () => dispatcher.wake('online'),
    reportConnectivity: (online) => connectivity.report?.(online),
    recordTranscript: (records) => (retention === 0 ? Promise.resolve() : writer.record(records)),
    emit,
    isLeader: () => coordinator.isLeader(),
  });
  // A store shared by several processes tells of new work (PostgreSQL LISTEN/NOTIFY).
  const unwatch = store.watch?.(() => dispatcher.wake());
  let wasOnline = connectivity.isOnline();
  unsubscribeConnectivity = connectivity.subscribe((online) => {
    if (online !== wasOnline) {
      wasOnline = online;
      emit({ type: 'connectivity', online });
    }
    // `true` also arrives without a change (page visible again, restored from the back/forward
    // cache: timers may have been frozen), so look at the store every time.
    if (online) {
      transport.resume?.();
      dispatcher.wake('online');
    }
  });
  coordinator.start({
    // Leadership is asked of the coordinator each time (it may lapse without a change event).
    onLeadershipChange: (isLeader) => {
      if (isLeader) dispatcher.wake();
      follow?.(); // a standby follows the sender; the sender hears its own events
    },
    onRemoteEvent: deliverEvent,
    onWakeRequest: () => dispatcher.wake('online'),
  });
  // A lease coordinator knows after one read whether this instance sends (SQLite: ~1 ms).
  await coordinator.ready?.();
  return outbox;
}
