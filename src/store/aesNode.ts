// The node:crypto backend of `aesGcm.ts` (Node only; imported by `sealingKeys` where
// `process.getBuiltinModule` exists). WebCrypto's encrypt() in Node queues every call on libuv's
// thread pool and back, which costs more than a SQLite commit (BENCHMARKS.md, "Encryption at
// rest"); node:crypto's cipher runs synchronously on the calling thread. Same bytes as the
// WebCrypto backend: base64(iv ‖ ciphertext ‖ tag), the additional data bound in.
//
// node:crypto is reached through `process.getBuiltinModule`, not an `import`, so a bundler that
// meets this module in a browser build has nothing to resolve.
import type * as NodeBufferModule from 'node:buffer';
import type * as NodeCrypto from 'node:crypto';
import type { CipherGCMTypes, KeyObject } from 'node:crypto';
import { IV_BYTES, TAG_BYTES, type SealingKey } from './aesGcm.js';

type NodeBuffer = typeof NodeBufferModule.Buffer;

function nodeCrypto(): { crypto: typeof NodeCrypto; Buffer: NodeBuffer } | undefined {
  const g = globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } };
  try {
    const crypto = g.process?.getBuiltinModule?.('node:crypto') as typeof NodeCrypto | undefined;
    const buffer = g.process?.getBuiltinModule?.('node:buffer') as
      typeof NodeBufferModule | undefined;
    if (crypto === undefined || buffer === undefined) return undefined;
    return { crypto, Buffer: buffer.Buffer };
  } catch {
    return undefined;
  }
}

/** Strict base64 (what `seal` writes): Node's decoder skips stray characters instead of failing. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The node:crypto backend for a WebCrypto `CryptoKey`, or `undefined` where there is no
 * node:crypto or the key is not one Node's `KeyObject.from` accepts (a CryptoKey made by another
 * WebCrypto implementation). `KeyObject.from` shares the key inside Node without exporting it,
 * so a non-extractable key stays non-extractable.
 */
export function nodeCryptoKey(key: CryptoKey): SealingKey | undefined {
  const node = nodeCrypto();
  if (node === undefined) return undefined;
  const { crypto: c, Buffer } = node;
  let secret: KeyObject;
  try {
    secret = c.KeyObject.from(key);
  } catch {
    return undefined;
  }
  const bits = (secret.symmetricKeySize ?? 0) * 8;
  if (secret.type !== 'secret' || ![128, 192, 256].includes(bits)) return undefined;
  const alg = `aes-${bits}-gcm` as CipherGCMTypes;
  // IVs are cut from a pool of random bytes refilled 256 IVs at a time: one randomFillSync per
  // seal cost a fifth of the sealing time. Each IV is still 96 fresh random bits, never reused.
  // The 256 views onto the pool are made once (a Buffer's subarray costs a FastBuffer per call).
  const pool = Buffer.allocUnsafe(IV_BYTES * 256);
  const ivs = Array.from(
    { length: 256 },
    (_, i) => new Uint8Array(pool.buffer, pool.byteOffset + i * IV_BYTES, IV_BYTES),
  );
  let used = ivs.length;
  // One scratch buffer for the sealed bytes before base64: what toString reads is copied out at
  // once (synchronous), so it can be reused by the next seal. A value too large for it gets a
  // buffer of its own.
  const scratch = Buffer.allocUnsafe(8192);
  // The additional data is encoded into a buffer of its own, reused (setAAD reads it at the call),
  // and handed over as a plain Uint8Array view: Buffer.from cost a pooled FastBuffer per seal.
  const aadScratch = Buffer.allocUnsafe(1024);
  const aadBytes = (aad: string): Uint8Array => {
    // 3 bytes per UTF-16 unit at most: longer text may not fit, and gets a buffer of its own.
    if (aad.length * 3 > aadScratch.length) return Buffer.from(aad, 'utf8');
    const n = aadScratch.write(aad, 0, 'utf8');
    return new Uint8Array(aadScratch.buffer, aadScratch.byteOffset, n);
  };
  return {
    backend: 'node',
    seal(aad, plain) {
      if (used === ivs.length) {
        c.randomFillSync(pool);
        used = 0;
      }
      const iv = ivs[used++] as Uint8Array;
      const cipher = c.createCipheriv(alg, secret, iv);
      cipher.setAAD(aadBytes(aad));
      const body = cipher.update(plain, 'utf8');
      const tail = cipher.final(); // GCM is a stream mode: nothing is held back (0 bytes)
      const tag = cipher.getAuthTag();
      const n = IV_BYTES + body.length + tail.length + TAG_BYTES;
      const out = n <= scratch.length ? scratch : Buffer.allocUnsafe(n);
      out.set(iv, 0);
      out.set(body, IV_BYTES);
      if (tail.length > 0) out.set(tail, IV_BYTES + body.length);
      out.set(tag, n - TAG_BYTES);
      return out.toString('base64', 0, n);
    },
    open(aad, sealed) {
      if (!BASE64.test(sealed)) return undefined;
      const bytes = Buffer.from(sealed, 'base64');
      if (bytes.length < IV_BYTES + TAG_BYTES) return undefined;
      try {
        const decipher = c.createDecipheriv(alg, secret, bytes.subarray(0, IV_BYTES));
        decipher.setAAD(aadBytes(aad));
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        const head = decipher.update(
          bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES),
          undefined,
          'utf8',
        );
        return head + decipher.final('utf8'); // final throws when the tag does not match
      } catch {
        return undefined;
      }
    },
  };
}
