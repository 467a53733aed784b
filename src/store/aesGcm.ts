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

type WithBase64 = Uint8Array & { toBase64?: () => string };

function toBase64(bytes: Uint8Array): string {
  // Native where the engine has it (Chromium 140+, Firefox 133+, Safari 18.2+).
  const b = bytes as WithBase64;
  if (typeof b.toBase64 === 'function') return b.toBase64();
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

/**
 * The UTF-8 of `s` in `scratch` (a view of it), or in an array of its own when it may not fit
 * (3 bytes per UTF-16 unit at most). Only for arguments that are copied at the call.
 */
function encoded(s: string, scratch: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  if (s.length * 3 > scratch.length) return utf8.encode(s);
  return scratch.subarray(0, utf8.encodeInto(s, scratch).written);
}

export function webCryptoKey(key: CryptoKey, subtle: SubtleCrypto): SealingKey {
  // IVs are cut from a pool of random bytes refilled 256 IVs at a time (one getRandomValues per
  // 256 seals instead of one per seal). Each IV is still 96 fresh random bits, never reused.
  const pool = new Uint8Array(IV_BYTES * 256);
  let used = pool.length;
  const aadScratch = new Uint8Array(1024);
  const textScratch = new Uint8Array(16384);
  return {
    backend: 'webcrypto',
    seal(aad, plain) {
      if (used === pool.length) {
        crypto.getRandomValues(pool);
        used = 0;
      }
      const iv = pool.subarray(used, (used += IV_BYTES));
      // encrypt() copies its arguments when called (the IV, the additional data, the plaintext):
      // the text is encoded into one reused buffer, and the IV's text is taken now too, before
      // the result: a burst of more than 256 seals refills the pool before the first one resolves.
      // 12 bytes are exactly 16 base64 characters, so base64(iv) + base64(ct) = base64(iv ‖ ct)
      // and the ciphertext needs no copy behind the IV.
      const ivText = toBase64(iv);
      const params = { name: 'AES-GCM', iv, additionalData: encoded(aad, aadScratch) };
      return subtle
        .encrypt(params, key, encoded(plain, textScratch))
        .then((ct) => ivText + toBase64(new Uint8Array(ct)));
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
