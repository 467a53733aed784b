// Encryption at rest (createOutbox({ encryption }), src/store/encrypted.ts): nothing a visitor
// wrote is readable in the wrapped store; unreadable records are quarantined, never sent.
import 'fake-indexeddb/auto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import type { OutboxEvent } from '../../src/outbox/events.js';
import type { StoredEntry } from '../../src/outbox/entry.js';
import { silentLogger } from '../../src/internal/logger.js';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import { memoryStore } from '../../src/store/memory.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import { OutboxError } from '../../src/errors/OutboxError.js';
import { webCryptoKey } from '../../src/store/aesGcm.js';
import { nodeCryptoKey } from '../../src/store/aesNode.js';
import { encryptedStoreWith, KEY_META, QUARANTINE_META } from '../../src/store/encrypted.js';
import { encryptedStore } from '../../src/store/encryptedStore.js';
import { rejectionCode } from '../helpers/errorCode.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
import { waitFor } from '../helpers/waitFor.js';
import { newEntry, line } from './store-contract.js';

const aesKey = (): Promise<CryptoKey> =>
  crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);

/** The same storage for several wrappers / outboxes: close() keeps it. */
const shared = (store: OutboxStore): OutboxStore => ({ ...store, close: async () => {} });

/** Everything the wrapped store holds, as one string (what a disk reader would see). */
async function dump(inner: OutboxStore, conversations: string[], metaKeys: string[]) {
  const parts: unknown[] = [await inner.list()];
  for (const c of conversations) parts.push(await inner.listTranscript(c));
  for (const k of metaKeys) parts.push(await inner.getMeta(k));
  return JSON.stringify(parts);
}

const SECRET = 'my card number is 4111 1111 1111 1111';

describe('encryption at rest', () => {
  it('text, metadata, transcript lines and meta values are unreadable in the wrapped store; ids, statuses and order stay clear', async () => {
    const inner = memoryStore();
    const store = encryptedStore(inner, { key: await aesKey() });
    await store.open();
    const [a] = await store.append([
      newEntry({ text: SECRET, metadata: { email: 'jane@example.com' } }),
    ]);
    await store.putTranscript([line('k1', 1, { text: `agent said ${SECRET}` })]);
    await store.setMeta('guest.sessionToken:dep', 'session-token-1234');
    // Read back in clear through the wrapper.
    expect(await store.get(a!.id)).toMatchObject({
      text: SECRET,
      metadata: { email: 'jane@example.com' },
    });
    expect((await store.listTranscript('c1'))[0]?.text).toBe(`agent said ${SECRET}`);
    expect(await store.getMeta('guest.sessionToken:dep')).toBe('session-token-1234');
    // Raw: none of it.
    const raw = await dump(inner, ['c1'], ['guest.sessionToken:dep']);
    for (const s of ['4111', 'jane@example.com', 'agent said', 'session-token-1234']) {
      expect(raw).not.toContain(s);
    }
    const stored = (await inner.get(a!.id)) as StoredEntry;
    expect(stored).toMatchObject({
      id: a!.id,
      conversationId: 'c1',
      status: 'pending',
      seq: a!.seq,
    });
    expect(stored.metadata).toBeUndefined();
  });

  it('SQLite: the database file and its WAL hold no text, metadata, line or token', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outbox-enc-'));
    try {
      const store = encryptedStore(sqliteStore({ path: join(dir, 'o.db') }), {
        key: await aesKey(),
      });
      await store.open();
      await store.append([newEntry({ text: SECRET, metadata: { email: 'jane@example.com' } })]);
      await store.putTranscript([line('k1', 1, { text: `agent said ${SECRET}` })]);
      await store.setMeta('guest.sessionToken:dep', 'session-token-1234');
      const files = await readdir(dir);
      const bytes = (await Promise.all(files.map((f) => readFile(join(dir, f))))).map((b) =>
        b.toString('latin1'),
      );
      expect(bytes.join('')).toContain('c1'); // the conversation id is clear (indexed)
      for (const s of ['4111', 'jane@example.com', 'agent said', 'session-token-1234']) {
        expect(bytes.join('')).not.toContain(s);
      }
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a record that does not decrypt (wrong key, tampered, swapped, planted plaintext) is quarantined and reported, never sent; the rest is delivered', async () => {
    const inner = memoryStore();
    const key = await aesKey();
    const writer = encryptedStore(shared(inner), { key });
    await writer.open();
    const [ok, tampered, swapA, swapB] = await writer.append([
      newEntry({ conversationId: 'c1', text: 'fine', createdAt: Date.now() }),
      newEntry({ conversationId: 'c2', text: 'will be tampered', createdAt: Date.now() }),
      newEntry({ conversationId: 'c3', text: 'swap a', createdAt: Date.now() }),
      newEntry({ conversationId: 'c4', text: 'swap b', createdAt: Date.now() }),
    ]);
    const rawOf = async (id: string) => (await inner.get(id)) as StoredEntry;
    const t = await rawOf(tampered!.id);
    const flipped = t.text.slice(0, -3) + (t.text.at(-3) === 'A' ? 'B' : 'A') + t.text.slice(-2);
    await inner.update({ ...t, text: flipped });
    const [ra, rb] = [await rawOf(swapA!.id), await rawOf(swapB!.id)];
    await inner.update({ ...ra, text: rb.text });
    await inner.update({ ...rb, text: ra.text });
    const [planted] = await inner.append([
      newEntry({ conversationId: 'c5', text: 'plaintext', createdAt: Date.now() }),
    ]);

    const transport = new ScriptedTransport();
    const events: OutboxEvent[] = [];
    const outbox = await createOutbox({
      transport,
      store: shared(inner),
      encryption: { key },
      coordinator: false,
      logger: silentLogger,
    });
    outbox.subscribe((e) => events.push(e));
    await outbox.flush();
    await outbox.whenSettled(ok!.id);
    await waitFor(() => events.filter((e) => e.type === 'corrupt-record').length >= 4, {
      what: 'four corrupt-record events',
    });
    expect(transport.calls.map((c) => c.entry.id)).toEqual([ok!.id]);
    const corrupt = events.flatMap((e) => (e.type === 'corrupt-record' ? [e.key] : []));
    expect(new Set(corrupt)).toEqual(new Set([tampered!.id, swapA!.id, swapB!.id, planted!.id]));
    expect(await outbox.list()).toEqual([]);
    // Moved aside, not deleted.
    const q = (await inner.getMeta(QUARANTINE_META)) as { key: string }[];
    expect(new Set(q.map((x) => x.key))).toEqual(new Set(corrupt));
    await outbox.close();
  });

  it('a quarantined record keeps nothing readable at rest: planted plaintext (text and metadata) is sealed in encryption.quarantine, in the SQLite file too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outbox-enc-q-'));
    try {
      const path = join(dir, 'o.db');
      const key = await aesKey();
      const writer = encryptedStore(sqliteStore({ path }), { key });
      await writer.open();
      await writer.append([newEntry({ conversationId: 'c1', text: 'sealed fine' })]);
      await writer.close();
      // Another program plants plaintext in the encrypted store (and a sealed entry that is tampered).
      const raw = sqliteStore({ path });
      await raw.open();
      const [planted] = await raw.append([
        newEntry({
          conversationId: 'c2',
          text: `planted ${SECRET}`,
          metadata: { email: 'jane@example.com' },
        }),
      ]);
      await raw.close();

      const events: OutboxEvent[] = [];
      const outbox = await createOutbox({
        transport: new ScriptedTransport(),
        store: sqliteStore({ path }),
        encryption: { key },
        coordinator: false,
        logger: silentLogger,
      });
      outbox.subscribe((e) => events.push(e));
      await outbox.flush();
      await waitFor(() => events.some((e) => e.type === 'corrupt-record'), {
        what: 'the planted entry reported',
      });
      await outbox.close();

      const check = sqliteStore({ path });
      await check.open();
      const q = (await check.getMeta(QUARANTINE_META)) as {
        key: string;
        kind: string;
        reason: string;
        value: unknown;
      }[];
      await check.close();
      expect(q.map((x) => [x.key, x.kind, x.reason])).toEqual([
        [planted!.id, 'entry', 'plaintext in an encrypted store'],
      ]);
      const stored = JSON.stringify(q);
      for (const s of ['4111', 'jane@example.com', 'planted']) expect(stored).not.toContain(s);
      // Kept for whoever holds the key: read through the wrapper, the value is the record as it was.
      const reader = encryptedStore(sqliteStore({ path }), { key });
      await reader.open();
      expect(await reader.getMeta(QUARANTINE_META)).toEqual([
        expect.objectContaining({
          key: planted!.id,
          value: expect.objectContaining({
            text: `planted ${SECRET}`,
            metadata: { email: 'jane@example.com' },
          }),
        }),
      ]);
      await reader.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a quarantine kept in clear by an older version is sealed at open; rotation re-seals it with the new key', async () => {
    const inner = memoryStore();
    const [oldKey, newKey] = [await aesKey(), await aesKey()];
    const first = encryptedStore(shared(inner), { key: oldKey });
    await first.open();
    await first.close();
    const legacy = {
      key: 'e1',
      kind: 'entry',
      reason: 'plaintext in an encrypted store',
      value: { id: 'e1', conversationId: 'c1', text: `old ${SECRET}` },
      at: 1,
    };
    await inner.setMeta(QUARANTINE_META, [legacy]);
    const second = encryptedStore(shared(inner), { key: oldKey });
    await second.open();
    expect(JSON.stringify(await inner.getMeta(QUARANTINE_META))).not.toContain('4111');
    expect(await second.getMeta(QUARANTINE_META)).toEqual([legacy]);
    const rotated = encryptedStore(shared(inner), { key: newKey, previousKeys: [oldKey] });
    await rotated.open();
    const onlyNew = encryptedStore(shared(inner), { key: newKey });
    await onlyNew.open();
    expect(await onlyNew.getMeta(QUARANTINE_META)).toEqual([legacy]);
    expect(JSON.stringify(await inner.getMeta(QUARANTINE_META))).not.toContain('4111');
  });

  it('a transcript line that does not decrypt is left out and reported once', async () => {
    const inner = memoryStore();
    const store = encryptedStore(shared(inner), { key: await aesKey() });
    await store.open();
    await store.putTranscript([line('a', 1), line('b', 2)]);
    const [raw] = await inner.listTranscript('c1');
    await inner.putTranscript([{ ...raw!, text: `${raw!.text.slice(0, -4)}AAA=` }]);
    const reports: unknown[] = [];
    const reader = encryptedStore(shared(inner), {
      key: await aesKey(),
      onCorrupt: (i) => reports.push(i.key),
    });
    await reader.open();
    expect(await reader.listTranscript('c1')).toEqual([]);
    expect(await reader.listTranscript('c1')).toEqual([]);
    expect(reports).toEqual(['a', 'b']);
  });

  it('turning encryption on encrypts what is there; plaintext planted afterwards is refused', async () => {
    const inner = memoryStore();
    await inner.open();
    await inner.append([newEntry({ text: SECRET, metadata: { email: 'jane@example.com' } })]);
    await inner.putTranscript([
      line('k1', 1, { conversationId: 'default', text: 'old line 4111' }),
    ]);
    await inner.setMeta('guest.sessionToken:dep', 'session-token-1234');
    const transport = new ScriptedTransport(() => ({
      kind: 'retry',
      error: { code: 'network', message: 'x' },
    }));
    const outbox = await createOutbox({
      transport,
      store: shared(inner),
      encryption: { key: await aesKey() },
      coordinator: false,
      logger: silentLogger,
      retry: { baseDelayMs: 60_000 },
    });
    expect((await outbox.list())[0]).toMatchObject({
      text: SECRET,
      metadata: { email: 'jane@example.com' },
    });
    expect((await outbox.transcript.list('default'))[0]?.text).toBe('old line 4111');
    const raw = await dump(inner, ['c1', 'default'], []);
    expect(raw).not.toContain('4111');
    expect(raw).not.toContain('jane@');
    await outbox.close();
  });

  it('a meta value from before encryption is sealed when it is first read', async () => {
    const inner = memoryStore();
    await inner.open();
    await inner.setMeta('guest.sessionToken:dep', 'session-token-1234');
    const store = encryptedStore(shared(inner), { key: await aesKey() });
    await store.open();
    expect(await store.getMeta('guest.sessionToken:dep')).toBe('session-token-1234');
    expect(JSON.stringify(await inner.getMeta('guest.sessionToken:dep'))).not.toContain('1234');
  });

  it('key rotation: previousKeys are read and everything is re-sealed with the new key at open', async () => {
    const inner = memoryStore();
    const [oldKey, newKey] = [await aesKey(), await aesKey()];
    const before = encryptedStore(shared(inner), { key: oldKey });
    await before.open();
    const [e] = await before.append([newEntry({ conversationId: 'default', text: SECRET })]);
    await before.putTranscript([line('k1', 1, { conversationId: 'default', text: 'a line' })]);
    const rotating = encryptedStore(shared(inner), { key: newKey, previousKeys: [oldKey] });
    await rotating.open();
    expect((await rotating.get(e!.id))?.text).toBe(SECRET);
    // The old key is no longer needed.
    const after = encryptedStore(shared(inner), { key: newKey });
    await after.open();
    expect((await after.get(e!.id))?.text).toBe(SECRET);
    expect((await after.listTranscript('default'))[0]?.text).toBe('a line');
  });

  it('without a key: generated (non-extractable) and kept in the store where allowed; in Node createOutbox requires one', async () => {
    const inner = memoryStore();
    const first = encryptedStore(shared(inner), { generateKey: true });
    await first.open();
    const [e] = await first.append([newEntry({ text: SECRET })]);
    const kept = (await inner.getMeta(KEY_META)) as CryptoKey;
    expect(kept.extractable).toBe(false);
    const second = encryptedStore(shared(inner), { generateKey: true });
    await second.open();
    expect((await second.get(e!.id))?.text).toBe(SECRET);
    await expect(
      rejectionCode(
        createOutbox({ transport: new ScriptedTransport(), store: memoryStore(), encryption: {} }),
      ),
    ).resolves.toBe('encryption-key-required');
  });

  it('without a key, two wrappers opening one store at once (two tabs on a first visit) keep one key: what either sealed opens after a reopen', async () => {
    for (const inner of [memoryStore(), indexedDbStore({ name: `gen-race-${Date.now()}` })]) {
      const a = encryptedStore(shared(inner), { generateKey: true });
      const b = encryptedStore(shared(inner), { generateKey: true });
      await Promise.all([a.open(), b.open()]);
      const [ea] = await a.append([newEntry({ text: `${SECRET} from a` })]);
      const [eb] = await b.append([newEntry({ text: `${SECRET} from b` })]);
      const corrupt: unknown[] = [];
      const later = encryptedStore(shared(inner), {
        generateKey: true,
        onCorrupt: (info) => corrupt.push(info),
      });
      await later.open();
      expect((await later.get(ea!.id))?.text).toBe(`${SECRET} from a`);
      expect((await later.get(eb!.id))?.text).toBe(`${SECRET} from b`);
      expect(corrupt).toEqual([]);
      await inner.close();
    }
  });

  it('an encrypted store opened without options.encryption is refused (it would send ciphertext)', async () => {
    const inner = memoryStore();
    const store = encryptedStore(shared(inner), { key: await aesKey() });
    await store.open();
    await store.append([newEntry()]);
    await expect(
      rejectionCode(
        createOutbox({
          transport: new ScriptedTransport(),
          store: shared(inner),
          coordinator: false,
        }),
      ),
    ).resolves.toBe('encryption-key-required');
  });

  it("the wrapped store's own sender lease and wipe() are kept (SQLite: one sender per file)", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outbox-enc-'));
    try {
      const inner = sqliteStore({ path: join(dir, 'o.db') });
      const store = encryptedStore(inner, { key: await aesKey() });
      expect(typeof inner.coordinator).toBe('function');
      expect(typeof store.coordinator).toBe('function');
      expect(typeof store.wipe).toBe('function');
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('bad keys are invalid-options', async () => {
    const extractableHmac = await crypto.subtle.generateKey(
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    for (const key of [extractableHmac, 'secret', {}]) {
      await expect(
        rejectionCode(
          createOutbox({
            transport: new ScriptedTransport(),
            store: memoryStore(),
            encryption: { key: key as CryptoKey },
          }),
        ),
      ).resolves.toBe('invalid-options');
    }
  });
});

describe('Node: sealing with node:crypto (same format as WebCrypto)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("send() seals with node:crypto's synchronous AES-GCM, not WebCrypto's thread-pool round trip", async () => {
    const encrypt = vi.spyOn(crypto.subtle, 'encrypt');
    const inner = memoryStore();
    const outbox = await createOutbox({
      transport: new ScriptedTransport(() => ({
        kind: 'retry',
        error: { code: 'network', message: 'x' },
      })),
      store: shared(inner),
      encryption: { key: await aesKey() }, // non-extractable: KeyObject.from shares it inside Node
      coordinator: false,
      logger: silentLogger,
      retry: { baseDelayMs: 60_000 },
    });
    for (let i = 0; i < 5; i++)
      await outbox.send({ text: `${SECRET} #${i}`, metadata: { i: `${i}` } });
    expect(encrypt).not.toHaveBeenCalled();
    expect((await outbox.list()).map((e) => e.text)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `${SECRET} #${i}`),
    );
    expect(JSON.stringify(await inner.list())).not.toContain('4111');
    await outbox.close();
  });

  for (const bits of [128, 256] as const) {
    it(`AES-${bits}: what one backend seals the other opens, both ways (entries, lines, meta); tampering is caught by both`, async () => {
      const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: bits }, false, [
        'encrypt',
        'decrypt',
      ]);
      expect(nodeCryptoKey(key)?.backend).toBe('node');
      const encrypt = vi.spyOn(crypto.subtle, 'encrypt');
      const decrypt = vi.spyOn(crypto.subtle, 'decrypt');
      for (const [writer, reader] of [
        ['webcrypto', 'node'],
        ['node', 'webcrypto'],
      ] as const) {
        const inner = memoryStore();
        const open = async (backend: 'webcrypto' | 'node'): Promise<OutboxStore> => {
          const store = encryptedStoreWith(
            OutboxError,
            shared(inner),
            { key },
            backend === 'webcrypto' ? 'webcrypto' : undefined,
          );
          await store.open();
          return store;
        };
        encrypt.mockClear();
        const w = await open(writer);
        const [e] = await w.append([
          newEntry({ text: SECRET, metadata: { email: 'jane@example.com' } }),
        ]);
        await w.putTranscript([line('k1', 1, { text: `agent said ${SECRET}` })]);
        await w.setMeta('guest.sessionToken:dep', 'session-token-1234');
        // The writer really used the backend it was given.
        expect(encrypt.mock.calls.length > 0).toBe(writer === 'webcrypto');
        expect(JSON.stringify(await inner.list())).not.toContain('4111');

        decrypt.mockClear();
        const onCorrupt = vi.fn();
        const r = encryptedStoreWith(
          OutboxError,
          shared(inner),
          { key, onCorrupt },
          reader === 'webcrypto' ? 'webcrypto' : undefined,
        );
        await r.open();
        expect(await r.get(e!.id)).toMatchObject({
          text: SECRET,
          metadata: { email: 'jane@example.com' },
        });
        expect((await r.listTranscript('c1'))[0]?.text).toBe(`agent said ${SECRET}`);
        expect(await r.getMeta('guest.sessionToken:dep')).toBe('session-token-1234');
        expect(decrypt.mock.calls.length > 0).toBe(reader === 'webcrypto');

        // One flipped character of the ciphertext: the reader's backend refuses it.
        const stored = (await inner.get(e!.id)) as StoredEntry;
        const i = stored.text.length - 3;
        const flipped = stored.text[i] === 'A' ? 'B' : 'A';
        await inner.update({
          ...stored,
          text: stored.text.slice(0, i) + flipped + stored.text.slice(i + 1),
        });
        expect(await r.get(e!.id)).toBeUndefined();
        expect(onCorrupt).toHaveBeenCalledWith(expect.objectContaining({ key: e!.id }));
        expect(JSON.stringify(onCorrupt.mock.calls)).not.toContain('4111');
      }
    });
  }

  it('the two backends agree on any text: multi-byte UTF-8, lone surrogates, values larger than the scratch buffer, non-ASCII additional data; one seal does not disturb another', async () => {
    const key = await aesKey();
    const node = nodeCryptoKey(key)!;
    const web = webCryptoKey(key, crypto.subtle);
    const texts = [
      '',
      'plain ascii',
      'Grüße, 你好, 🙂🙃 — ok',
      'x'.repeat(8192 - 28), // the sealed bytes just under / over the scratch buffer
      'x'.repeat(8192 - 27),
      '🙂'.repeat(10_000),
      'lone \ud800 surrogate',
    ];
    const aads = ['e\u0000id\u0000c1', `t\u0000k\u0000${'会話'.repeat(3000)}`];
    for (const aad of aads) {
      const sealed = texts.map((t) => node.seal(aad, t) as string);
      for (const [i, t] of texts.entries()) {
        // What TextEncoder makes of the text (a lone surrogate becomes U+FFFD on both sides).
        const expected = new TextDecoder().decode(new TextEncoder().encode(t));
        expect(await web.open(aad, sealed[i]!)).toBe(expected);
        expect(node.open(aad, await web.seal(aad, t))).toBe(expected);
        expect(node.open(aad, sealed[i]!)).toBe(expected);
        expect(node.open(`${aad}x`, sealed[i]!)).toBeUndefined();
      }
    }
  });

  it('IVs come from a pool of 256: 600 seals in flight at once (WebCrypto) or in a row (node:crypto) all open, each with an IV of its own', async () => {
    const key = await aesKey();
    const node = nodeCryptoKey(key)!;
    const web = webCryptoKey(key, crypto.subtle);
    const aad = (i: number): string => `e\u0000id-${i}\u0000c1`;
    const n = 600; // more than two refills of the pool while the first seals are still pending
    const fromWeb = await Promise.all(
      Array.from({ length: n }, (_, i) => web.seal(aad(i), `message ${i}`)),
    );
    const fromNode = Array.from(
      { length: n },
      (_, i) => node.seal(aad(i), `message ${i}`) as string,
    );
    for (const sealed of [fromWeb, fromNode]) {
      for (const [i, s] of sealed.entries()) {
        expect(node.open(aad(i), s)).toBe(`message ${i}`);
        expect(await web.open(aad(i), s)).toBe(`message ${i}`);
      }
    }
    // The first 16 base64 characters are the 12-byte IV.
    expect(new Set([...fromWeb, ...fromNode].map((s) => s.slice(0, 16))).size).toBe(2 * n);
  });

  it('a key that is not a Node CryptoKey gets no node:crypto backend (WebCrypto is used instead)', () => {
    const foreign = { algorithm: { name: 'AES-GCM', length: 256 }, usages: ['encrypt', 'decrypt'] };
    expect(nodeCryptoKey(foreign as unknown as CryptoKey)).toBeUndefined();
  });
});

describe('turning encryption on for an existing store: everything is sealed, in the background', () => {
  /** Plaintext from before encryption: lines of a conversation nobody lists (more than one sweep step), a meta value, an entry. */
  async function fillPlain(store: OutboxStore): Promise<void> {
    await store.open();
    await store.append([newEntry({ conversationId: 'default', text: `queued ${SECRET}` })]);
    await store.putTranscript([
      line('never-1', 1, { conversationId: 'never-listed', text: `agent said ${SECRET}` }),
      line('never-2', 2, {
        conversationId: 'never-listed',
        text: 'visitor: my email is jane@example.com',
      }),
    ]);
    await store.putTranscript(
      Array.from({ length: 450 }, (_, i) =>
        line(`bulk-${String(i).padStart(3, '0')}`, 10 + i, {
          conversationId: `old-${i % 7}`,
          text: `old line ${i} 4111`,
        }),
      ),
    );
    await store.setMeta('app.note', 'a meta value 4111');
  }

  const plaintext = (raw: string): boolean =>
    ['4111', 'jane@example.com', 'agent said', 'old line'].some((s) => raw.includes(s));

  async function openEncrypted(store: OutboxStore, key: CryptoKey) {
    return createOutbox({
      transport: new ScriptedTransport(() => ({
        kind: 'retry',
        error: { code: 'network', message: 'x' },
      })),
      store,
      encryption: { key },
      coordinator: false,
      logger: silentLogger,
      retry: { baseDelayMs: 60_000 },
    });
  }

  it('SQLite: no plaintext is left in the database file or its WAL, not even of conversations never listed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outbox-enc-sweep-'));
    try {
      const path = join(dir, 'o.db');
      const plain = sqliteStore({ path });
      await fillPlain(plain);
      await plain.close();
      const rawFiles = async (): Promise<string> =>
        (await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f))))).join('');
      expect(plaintext(await rawFiles())).toBe(true);

      const key = await aesKey();
      const outbox = await openEncrypted(sqliteStore({ path }), key);
      await waitFor(async () => !plaintext(await rawFiles()), {
        what: 'no plaintext in the SQLite files',
      });
      // Still readable through the outbox, in order.
      expect((await outbox.transcript.list('never-listed')).map((r) => r.text)).toEqual([
        `agent said ${SECRET}`,
        'visitor: my email is jane@example.com',
      ]);
      expect((await outbox.transcript.list('old-3')).length).toBe(64);
      await outbox.close();
      const again = encryptedStore(sqliteStore({ path }), { key });
      await again.open();
      expect(await again.getMeta('app.note')).toBe('a meta value 4111');
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('SQLite: an entry the store quarantined before encryption (its own quarantine table, kept as read) is sealed by the sweep, and the file holds no plaintext', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outbox-enc-sq-'));
    try {
      const path = join(dir, 'o.db');
      const plain = sqliteStore({ path });
      await plain.open();
      const [bad] = await plain.append([
        newEntry({ conversationId: 'c9', text: `unreadable ${SECRET}` }),
      ]);
      await plain.close();
      // Made unreadable (an unknown status): the next read moves it to the quarantine table.
      const db = new Database(path);
      const row = db.prepare('SELECT data FROM entries WHERE id = ?').get(bad!.id) as {
        data: string;
      };
      db.prepare('UPDATE entries SET data = ? WHERE id = ?').run(
        JSON.stringify({ ...(JSON.parse(row.data) as object), status: 'bogus' }),
        bad!.id,
      );
      db.close();
      const reader = sqliteStore({ path });
      await reader.open();
      expect(await reader.list()).toEqual([]);
      await reader.close();
      const rawFiles = async (): Promise<string> =>
        (await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f))))).join('');
      expect(await rawFiles()).toContain('4111');

      const outbox = await openEncrypted(sqliteStore({ path }), await aesKey());
      await waitFor(async () => !(await rawFiles()).includes('4111'), {
        what: 'no plaintext in the SQLite files',
      });
      await outbox.close();
      const check = new Database(path, { readonly: true });
      const q = check.prepare('SELECT key, reason, value FROM quarantine').all() as {
        key: string;
        reason: string;
        value: string;
      }[];
      check.close();
      expect(q).toEqual([
        { key: bad!.id, reason: expect.any(String), value: expect.stringContaining('gwo1:') },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('IndexedDB: read with plain IndexedDB calls, no record holds plaintext', async () => {
    const name = `enc-sweep-${Math.random().toString(36).slice(2)}`;
    const plain = indexedDbStore({ name });
    await fillPlain(plain);
    await plain.close();
    /** Every record of every object store, as plain IndexedDB returns it. */
    const rawIdb = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const names = [...db.objectStoreNames];
          const tx = db.transaction(names, 'readonly');
          const all = names.map((n) => tx.objectStore(n).getAll());
          tx.oncomplete = () => {
            db.close();
            resolve(JSON.stringify(all.map((r) => r.result)));
          };
          tx.onerror = () => reject(tx.error);
        };
      });
    expect(plaintext(await rawIdb())).toBe(true);
    const outbox = await openEncrypted(indexedDbStore({ name }), await aesKey());
    await waitFor(async () => !plaintext(await rawIdb()), { what: 'no plaintext in IndexedDB' });
    expect((await outbox.transcript.list('never-listed'))[0]?.text).toBe(`agent said ${SECRET}`);
    await outbox.close();
  });

  it('IndexedDB: an entry the store quarantined before encryption (its own quarantine store) is sealed by the sweep', async () => {
    const name = `enc-sq-${Math.random().toString(36).slice(2)}`;
    const plain = indexedDbStore({ name });
    await plain.open();
    const [bad] = await plain.append([
      newEntry({ conversationId: 'c9', text: `unreadable ${SECRET}` }),
    ]);
    await plain.close();
    const withDb = <T>(body: (db: IDBDatabase) => Promise<T>): Promise<T> =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          body(db).then(
            (x) => (db.close(), resolve(x)),
            (e: unknown) => (db.close(), reject(e)),
          );
        };
      });
    const all = (store: string): Promise<unknown[]> =>
      withDb(
        (db) =>
          new Promise((resolve, reject) => {
            const r = db.transaction(store).objectStore(store).getAll();
            r.onsuccess = () => resolve(r.result);
            r.onerror = () => reject(r.error);
          }),
      );
    // Made unreadable (an unknown status): the next read moves it to the quarantine store.
    await withDb(
      (db) =>
        new Promise<void>((resolve, reject) => {
          const tx = db.transaction('entries', 'readwrite');
          const get = tx.objectStore('entries').get(bad!.id);
          get.onsuccess = () =>
            tx.objectStore('entries').put({ ...(get.result as object), status: 'bogus' });
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
        }),
    );
    const reader = indexedDbStore({ name });
    await reader.open();
    expect(await reader.list()).toEqual([]);
    await reader.close();
    expect(JSON.stringify(await all('quarantine'))).toContain('4111');

    const outbox = await openEncrypted(indexedDbStore({ name }), await aesKey());
    await waitFor(async () => !JSON.stringify(await all('quarantine')).includes('4111'), {
      what: 'the quarantined entry sealed',
    });
    await outbox.close();
    const [q] = (await all('quarantine')) as { key: string; value: unknown }[];
    expect(q).toMatchObject({ key: bad!.id, value: expect.stringContaining('gwo1:') });
  });

  it('memory: the sweep resumes where a crash stopped it; send() does not wait for it; a line written meanwhile keeps its newer text', async () => {
    const inner = memoryStore();
    await fillPlain(inner);
    const key = await aesKey();
    // First run: the second step of the sweep dies (as a crash would).
    let steps = 0;
    const access = await inner.sweep!();
    const crashing: OutboxStore = {
      ...shared(inner),
      sweep: async () => ({
        ...access,
        replaceTranscriptText: async (changes) => {
          if (++steps === 2) throw new Error('crash');
          await access.replaceTranscriptText(changes);
        },
      }),
    };
    const first = encryptedStore(crashing, { key });
    await first.open();
    await waitFor(() => steps >= 2, { what: 'the sweep to reach its second step' });
    await first.close();
    const cursor = ((await inner.getMeta('encryption')) as { after?: string }).after;
    expect(cursor).toBe('bulk-199'); // the first step (keys in order) is done and remembered

    // Second run: the sweep starts after the cursor, and is held there while the outbox is used.
    const scans: (string | undefined)[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const gated: OutboxStore = {
      ...shared(inner),
      sweep: async () => ({
        ...access,
        scanTranscript: async (after, limit) => {
          scans.push(after);
          const batch = await access.scanTranscript(after, limit);
          await held;
          return batch;
        },
      }),
    };
    const outbox = await openEncrypted(gated, key);
    await waitFor(() => scans.length === 1, { what: 'the sweep to start' });
    expect(scans[0]).toBe('bulk-199');
    // While the sweep holds the lines it read: send() commits, and a line is rewritten.
    const sent = await outbox.send({ text: 'sent during the sweep' });
    expect((await inner.get(sent.id))?.text).not.toContain('during');
    await encryptedStore(shared(inner), { key }).putTranscript([
      line('bulk-250', 999, { conversationId: 'old-5', text: 'rewritten 5555' }),
    ]);
    release();
    await waitFor(
      async () => !plaintext(JSON.stringify(await access.scanTranscript(undefined, 1000))),
      {
        what: 'every line sealed',
      },
    );
    await waitFor(
      async () => ((await inner.getMeta('encryption')) as { swept?: boolean }).swept === true,
      { what: 'the sweep to finish' },
    );
    expect(JSON.stringify(await inner.getMeta('app.note'))).not.toContain('4111');
    const lines = await outbox.transcript.list('old-5');
    expect(lines.find((r) => r.key === 'bulk-250')?.text).toBe('rewritten 5555');
    expect(lines.find((r) => r.key === 'bulk-243')?.text).toBe('old line 243 4111');
    await outbox.close();
  });
});
