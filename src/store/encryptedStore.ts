import { OutboxError } from '../errors/OutboxError.js';
import type { OutboxStore } from './OutboxStore.js';
import { encryptedStoreWith, type EncryptedStoreOptions } from './encrypted.js';

/**
 * Wraps any {@link OutboxStore} so that text, metadata, transcript lines and meta values are
 * AES-GCM encrypted before they reach it (see `encryptedStoreWith` in `encrypted.ts` and
 * docs/privacy.md). `createOutbox({ encryption })` does this itself; use this to read or
 * inspect an encrypted store from a tool.
 *
 * @example
 * const key = await crypto.subtle.importKey('raw', secret32Bytes, 'AES-GCM', false, ['encrypt', 'decrypt']);
 * const store = encryptedStore(sqliteStore({ path }), { key });
 */
export function encryptedStore(inner: OutboxStore, options: EncryptedStoreOptions): OutboxStore {
  return encryptedStoreWith(OutboxError, inner, options);
}
