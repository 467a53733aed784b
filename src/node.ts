// Node-only entry: code that must never reach a browser bundle (secrets, native modules).
export { sqliteStore } from './store/sqlite.js';
export type { SqliteStoreOptions } from './store/sqlite.js';
export { postgresStore, POSTGRES_SCHEMA_VERSION } from './store/postgres.js';
export type { PostgresStoreOptions, PostgresPool } from './store/postgres.js';
export { clientCredentials } from './auth/clientCredentials.js';
export type { ClientCredentialsOptions } from './auth/clientCredentials.js';
export { openMessagingTransport } from './transport/openMessaging.js';
export type {
  OpenMessagingTransportOptions,
  OpenMessagingFrom,
  OpenMessagingReceipt,
  OpenMessagingTransport,
} from './transport/openMessaging.js';
// Platform-neutral, exported here so that browser bundles never pull it in unasked
// (createOutbox({ encryption }) loads it on demand): tools that read an encrypted store use it.
export { encryptedStore } from './store/encryptedStore.js';
export type { EncryptedStoreOptions, EncryptionOptions } from './store/encrypted.js';
export { openMessagingWebhook, openMessagingSignature } from './webhook/openMessagingWebhook.js';
export type {
  OpenMessagingWebhookOptions,
  OpenMessagingWebhookMessage,
} from './webhook/openMessagingWebhook.js';
