// Public entry for browsers and Node. Every public name is listed here explicitly.
export { createOutbox } from './outbox/createOutbox.js';
export type { Outbox, OutboxOptions } from './outbox/createOutbox.js';
export type { OutboxEntry, OutboxStatus } from './outbox/entry.js';
export type { OutboxEvent, SessionClosedReason } from './outbox/events.js';
export type { SendInput } from './outbox/validate.js';
export { outboxEntries, outboxTranscript, outboxConnectivity } from './outbox/views.js';
export type { ExternalStore, ViewableOutbox } from './outbox/views.js';
export { OfflineMessageQueue, TUTORIAL_MESSAGES_PATH } from './outbox/OfflineMessageQueue.js';
export type { OfflineMessageQueueConfig } from './outbox/OfflineMessageQueue.js';

export { OutboxError, isOutboxError } from './errors/OutboxError.js';
export type { OutboxErrorCode, ErrorInfo } from './errors/OutboxError.js';

export { indexedDbStore } from './store/indexedDb.js';
export type { IndexedDbStoreOptions } from './store/indexedDb.js';
export { memoryStore } from './store/memory.js';
// Types only: the wrapper itself is loaded by createOutbox({ encryption }) when asked for.
export type { EncryptionOptions } from './store/encrypted.js';
export { migrateTutorialQueue } from './store/migrateTutorial.js';
export type { MigrateTutorialOptions } from './store/migrateTutorial.js';
export { requestPersistentStorage } from './store/persist.js';
export type { OutboxStore, TranscriptRecord } from './store/OutboxStore.js';

export { guestTransport } from './transport/guest.js';
export type { GuestTransportOptions, WebSocketConstructor } from './transport/guest.js';
export { httpTransport } from './transport/http.js';
export type { HttpTransportOptions } from './transport/http.js';
export type {
  Transport,
  TransportContext,
  SendContext,
  SendOutcome,
} from './transport/Transport.js';

export { callbackTokenProvider } from './auth/tokenProvider.js';
export type { TokenProvider, TokenSource } from './auth/tokenProvider.js';

export { regions, resolveRegion } from './internal/regions.js';
export type { ResolvedRegion } from './internal/regions.js';
export type { Clock } from './internal/clock.js';
export type { Logger } from './internal/logger.js';
export type { RetryOptions } from './retry/options.js';

export { browserConnectivity } from './connectivity/browser.js';
export type { BrowserConnectivityOptions } from './connectivity/browser.js';
export { alwaysOnline } from './connectivity/always.js';
export { defaultConnectivity } from './connectivity/auto.js';
export type { Connectivity } from './connectivity/Connectivity.js';
export { webLocksCoordinator } from './coordination/webLocks.js';
export type { WebLocksCoordinatorOptions } from './coordination/webLocks.js';
export { leaseCoordinator, indexedDbLease } from './coordination/lease.js';
export type { LeaseCoordinatorOptions, LeaseFunction } from './coordination/lease.js';
export { defaultCoordinator } from './coordination/auto.js';
export { soloCoordinator } from './coordination/Coordinator.js';
export type { Coordinator, CoordinatorHandlers } from './coordination/Coordinator.js';
export type { Transcript, TranscriptOptions, TranscriptWriter } from './transcript/transcript.js';
