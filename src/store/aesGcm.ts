// The AES-GCM primitive behind `encrypted.ts`, with two interchangeable backends that read and
// write the same bytes: base64(iv ‖ ciphertext ‖ 16-byte tag), additional data bound in.
//
// - WebCrypto (`crypto.subtle`): browsers, and anywhere the other one is not available.
// - node:crypto (`createCipheriv`, synchronous): Node. WebCrypto's encrypt() in Node queues each
//   call on libuv's thread pool and back, which costs more than a SQLite commit (BENCHMARKS.md,
//   "Encryption at rest"); the synchronous cipher does not leave the event loop.
//
// The node:crypto backend is its own module (`aesNode.ts`), imported only where
// `process.getBuiltinModule` exists (Node >= 20.16): a browser build holds it as a chunk that is
// never fetched, and the encryption chunk a browser does fetch carries WebCrypto only.

/** One key, ready to seal and open values. */
export interface SealingKey {
  /** Which backend this key uses. */
  readonly backend: 'node' | 'webcrypto';
  /**
   * base64(iv ‖ ciphertext ‖ tag) of the UTF-8 of `plain`, with the UTF-8 of `aad` as additional
   * data. Strings in, a string out: the node:crypto backend encodes straight into its own buffers.
   */
  seal(aad: string, plain: string): string | Promise<string>;
  /** The plaintext of what `seal` wrote, or `undefined` if it does not authenticate. */
  open(aad: string, sealed: string): string | undefined | Promise<string | undefined>;
}

export const IV_BYTES = 12;
export const TAG_BYTES = 16;

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function fromBase64(s: string): Uint8Array<ArrayBuffer> | undefined {
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    return undefined;
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The WebCrypto backend. */
const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

export function webCryptoKey(key: CryptoKey, subtle: SubtleCrypto): SealingKey {
  return {
    backend: 'webcrypto',
    async seal(aad, plain) {
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const params = { name: 'AES-GCM', iv, additionalData: utf8.encode(aad) };
      const ct = new Uint8Array(await subtle.encrypt(params, key, utf8.encode(plain)));
      const out = new Uint8Array(IV_BYTES + ct.length);
      out.set(iv);
      out.set(ct, IV_BYTES);
      return toBase64(out);
    },
    async open(aad, sealed) {
      const bytes = fromBase64(sealed);
      if (bytes === undefined || bytes.length < IV_BYTES + TAG_BYTES) return undefined;
      try {
        const iv = bytes.subarray(0, IV_BYTES);
        const params = { name: 'AES-GCM', iv, additionalData: utf8.encode(aad) };
        return utf8d.decode(await subtle.decrypt(params, key, bytes.subarray(IV_BYTES)));
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * The fastest backend for each key: node:crypto in Node (where it accepts the key), else
 * WebCrypto. `prefer: 'webcrypto'` forces WebCrypto (tests of the wire format).
 */
export async function sealingKeys(
  keys: readonly CryptoKey[],
  subtle: () => SubtleCrypto,
  prefer?: 'webcrypto',
): Promise<SealingKey[]> {
  const g = globalThis as { process?: { getBuiltinModule?: unknown } };
  const node =
    prefer === undefined && typeof g.process?.getBuiltinModule === 'function'
      ? (await import('./aesNode.js')).nodeCryptoKey
      : undefined;
  return keys.map((k) => node?.(k) ?? webCryptoKey(k, subtle()));
}
