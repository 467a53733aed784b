// Node-only entry: code that must never reach a browser bundle (secrets, native modules).
export { sqliteStore } from './store/sqlite.js';
export type { SqliteStoreOptions } from './store/sqlite.js';
export { clientCredentials } from './auth/clientCredentials.js';
export type { ClientCredentialsOptions } from './auth/clientCredentials.js';
export { openMessagingTransport } from './transport/openMessaging.js';
export type {
  OpenMessagingTransportOptions,
  OpenMessagingFrom,
} from './transport/openMessaging.js';
