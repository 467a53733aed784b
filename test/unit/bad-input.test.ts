// Bad input at every boundary (issue 10 item 11 and "Bad input"; issue 12 "Errors that say what to
// do"): each kind gets a coded OutboxError where it is given, nothing is stored, and the outbox
// still delivers afterwards. Limits and outcomes are documented in the README ("Bad input").
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createOutbox, type Outbox, type OutboxOptions } from '../../src/outbox/createOutbox.js';
import { MAX_METADATA_CHARS, MAX_METADATA_KEYS } from '../../src/outbox/validate.js';
import { memoryStore } from '../../src/store/memory.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import { httpTransport } from '../../src/transport/http.js';
import { openMessagingTransport } from '../../src/transport/openMessaging.js';
import { guestTransport } from '../../src/transport/guest.js';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import { postgresStore } from '../../src/store/postgres.js';
import { clientCredentials } from '../../src/auth/clientCredentials.js';
import { openMessagingWebhook } from '../../src/webhook/openMessagingWebhook.js';
import { resolveRegion } from '../../src/internal/regions.js';
import { isOutboxError } from '../../src/errors/OutboxError.js';
import { silentLogger } from '../../src/internal/logger.js';
import { FakeClock } from '../helpers/fakeClock.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
import { rejectionCode, thrownCode } from '../helpers/errorCode.js';

const dir = mkdtempSync(join(tmpdir(), 'bad-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const stores: [string, () => OutboxStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: join(dir, `s${files++}.db`) })],
];

async function open(store: OutboxStore, extra: Partial<OutboxOptions> = {}) {
  const transport = new ScriptedTransport();
  const outbox = await createOutbox({
    transport,
    store,
    clock: new FakeClock(),
    coordinator: false,
    logger: silentLogger,
    ...extra,
  });
  return { outbox, transport };
}

/** The outbox still takes and delivers a good message. */
async function stillDelivers(outbox: Outbox): Promise<void> {
  const e = await outbox.send({ text: 'still works' });
  expect(await outbox.whenSettled(e.id)).toMatchObject({ status: 'sent' });
}

const throwingGetter = (key: string, base: object = {}): object =>
  Object.defineProperty({ ...base }, key, {
    enumerable: true,
    get() {
      throw new Error('boom');
    },
  });
const manyKeys = Object.fromEntries(
  Array.from({ length: 100_000 }, (_, i) => [`k${i}`, 'v']),
) as Record<string, string>;
const hostileMetadata = () =>
  new Proxy(
    {},
    {
      ownKeys() {
        throw new Error('no keys for you');
      },
    },
  );
/** Built only inside the test (the runner reads its table's values to name the tests). */
class Lazy {
  constructor(readonly make: () => unknown) {}
}
const lazy = (make: () => unknown) => new Lazy(make);

describe.each(stores)(
  'send() with bad input, %s store: coded, nothing stored',
  (_name, makeStore) => {
    it.each<[string, unknown, string]>([
      ['null', null, 'invalid-text'],
      ['a number as text', { text: 42 }, 'invalid-text'],
      ['empty text', { text: '' }, 'invalid-text'],
      ['white space only', { text: ' \n\t ' }, 'invalid-text'],
      ['zero-width spaces only', { text: '\u200b\u200b\ufeff' }, 'invalid-text'],
      ['NUL only', { text: '\u0000\u0000' }, 'invalid-text'],
      ['a NUL inside', { text: 'a\u0000b' }, 'invalid-text'],
      ['a lone high surrogate', { text: 'x\ud800' }, 'invalid-text'],
      ['a lone low surrogate', { text: '\udc00y' }, 'invalid-text'],
      ['text over maxTextLength', { text: 'x'.repeat(4001) }, 'text-too-long'],
      ['a text getter that throws', lazy(() => throwingGetter('text')), 'invalid-text'],
      ['empty conversationId', { text: 'hi', conversationId: '' }, 'invalid-conversation-id'],
      [
        'zero-width conversationId',
        { text: 'hi', conversationId: '\u200b' },
        'invalid-conversation-id',
      ],
      ['numeric conversationId', { text: 'hi', conversationId: 7 }, 'invalid-conversation-id'],
      [
        'conversationId of 257 characters',
        { text: 'hi', conversationId: 'c'.repeat(257) },
        'invalid-conversation-id',
      ],
      ['metadata as an array', { text: 'hi', metadata: ['a'] }, 'invalid-metadata'],
      ['metadata as a Map', { text: 'hi', metadata: new Map([['a', 'b']]) }, 'invalid-metadata'],
      ['a non-string metadata value', { text: 'hi', metadata: { a: 1 } }, 'invalid-metadata'],
      ['metadata with 100,000 keys', { text: 'hi', metadata: manyKeys }, 'invalid-metadata'],
      [
        'a 5 MB metadata value',
        { text: 'hi', metadata: { big: 'x'.repeat(5_000_000) } },
        'invalid-metadata',
      ],
      [
        'a "__proto__" metadata key',
        { text: 'hi', metadata: JSON.parse('{"__proto__":"x"}') as unknown },
        'invalid-metadata',
      ],
      ['an empty metadata key', { text: 'hi', metadata: { '': 'x' } }, 'invalid-metadata'],
      [
        'metadata whose keys cannot be read',
        lazy(() => ({ text: 'hi', metadata: hostileMetadata() })),
        'invalid-metadata',
      ],
      [
        'a metadata getter that throws',
        lazy(() => ({ text: 'hi', metadata: throwingGetter('a') })),
        'invalid-metadata',
      ],
    ])('%s', async (_kind, input, code) => {
      const store = makeStore();
      const { outbox, transport } = await open(store);
      const value = input instanceof Lazy ? input.make() : input;
      expect(await rejectionCode(outbox.send(value as never))).toBe(code);
      expect(await store.count()).toBe(0);
      expect(transport.calls).toHaveLength(0);
      await stillDelivers(outbox);
      await outbox.close();
    });

    it('metadata at the documented limits is accepted', async () => {
      const store = makeStore();
      const { outbox } = await open(store);
      const keys = Object.fromEntries(
        Array.from({ length: MAX_METADATA_KEYS }, (_, i) => [`k${i}`, 'v']),
      );
      await expect(outbox.send({ text: 'a', metadata: keys })).resolves.toMatchObject({
        status: 'pending',
      });
      const big = { b: 'x'.repeat(MAX_METADATA_CHARS - 1) };
      await expect(outbox.send({ text: 'b', metadata: big })).resolves.toMatchObject({
        status: 'pending',
      });
      await expect(outbox.send({ text: 'a\ud83d\ude00 emoji is fine' })).resolves.toMatchObject({
        status: 'pending',
      });
      await outbox.close();
    });
  },
);

describe('createOutbox() with bad options: invalid-options, nothing opened, the store usable after', () => {
  const transport = () => new ScriptedTransport();
  it.each<[string, (store: OutboxStore) => unknown]>([
    ['options null', () => null],
    ['transport: null', (store) => ({ store, transport: null })],
    ['transport: {}', (store) => ({ store, transport: {} })],
    ['store: {}', () => ({ transport: transport(), store: {} })],
    ['connectivity: {}', (store) => ({ store, transport: transport(), connectivity: {} })],
    ['clock: {}', (store) => ({ store, transport: transport(), clock: {} })],
    ['logger: {}', (store) => ({ store, transport: transport(), logger: {} })],
    ['random: "x"', (store) => ({ store, transport: transport(), random: 'x' })],
    ['coordinator: {}', (store) => ({ store, transport: transport(), coordinator: {} })],
    [
      "defaultConversationId: ''",
      (store) => ({ store, transport: transport(), defaultConversationId: '' }),
    ],
    ["name: ''", (store) => ({ store, transport: transport(), name: '' })],
    ['a typo: retries', (store) => ({ store, transport: transport(), retries: 5 })],
    [
      'a typo inside retry: maxRetries',
      (store) => ({ store, transport: transport(), retry: { maxRetries: 5 } }),
    ],
    [
      'retry base and max Infinity',
      (store) => ({
        store,
        transport: transport(),
        retry: { baseDelayMs: Infinity, maxDelayMs: Infinity },
      }),
    ],
    [
      'retry.baseDelayMs NaN',
      (store) => ({ store, transport: transport(), retry: { baseDelayMs: NaN } }),
    ],
    [
      'retry.maxDelayMs negative',
      (store) => ({ store, transport: transport(), retry: { maxDelayMs: -1 } }),
    ],
    [
      'retry.maxAttempts 0',
      (store) => ({ store, transport: transport(), retry: { maxAttempts: 0 } }),
    ],
    [
      'retry.maxRetryAfterMs Infinity',
      (store) => ({ store, transport: transport(), retry: { maxRetryAfterMs: Infinity } }),
    ],
    ['maxTextLength 0', (store) => ({ store, transport: transport(), maxTextLength: 0 })],
    ['concurrency 1.5', (store) => ({ store, transport: transport(), concurrency: 1.5 })],
    [
      'transcript.retention -1',
      (store) => ({ store, transport: transport(), transcript: { retention: -1 } }),
    ],
    [
      'a typo inside transcript',
      (store) => ({ store, transport: transport(), transcript: { keep: 5 } }),
    ],
    [
      'an options getter that throws',
      (store) => throwingGetter('coordinator', { store, transport: transport() }),
    ],
    ['no store where there is no indexedDB', () => ({ transport: transport() })],
  ])('%s', async (_kind, build) => {
    const store = memoryStore();
    expect(await rejectionCode(createOutbox(build(store) as OutboxOptions))).toBe(
      'invalid-options',
    );
    const { outbox } = await open(store);
    await stillDelivers(outbox);
    await outbox.close();
  });

  it('an unknown option names the valid ones', async () => {
    const e = await createOutbox({
      transport: transport(),
      store: memoryStore(),
      retries: 3,
    } as never).catch((x: unknown) => x);
    expect(isOutboxError(e) && e.message).toMatch(
      /unknown option retries \(valid: transport, store, name, retry,/,
    );
  });

  // A typo in a transport's or store's options is refused at construction, naming the valid ones
  // (before, each factory ignored names it did not read).
  it.each<[string, () => unknown, string]>([
    [
      'httpTransport',
      () => httpTransport({ url: 'http://127.0.0.1/m', retries: 3 } as never),
      'retries',
    ],
    [
      'openMessagingTransport',
      () =>
        openMessagingTransport({
          apiUrl: 'http://127.0.0.1',
          integrationId: 'i',
          tokenProvider: () => 't',
          timeout: 5,
        } as never),
      'timeout',
    ],
    [
      'guestTransport',
      () => guestTransport({ region: 'eu_west_1', deploymentId: 'd', startnew: true } as never),
      'startnew',
    ],
    [
      'sqliteStore',
      () => sqliteStore({ path: join(dir, 'typo.db'), durabilty: 'strict' } as never),
      'durabilty',
    ],
    ['indexedDbStore', () => indexedDbStore({ nmae: 'x' } as never), 'nmae'],
    [
      'postgresStore',
      () => postgresStore({ connectionString: 'postgres://x', schemaName: 'a' } as never),
      'schemaName',
    ],
    [
      'clientCredentials',
      () =>
        clientCredentials({
          region: 'eu_west_1',
          clientId: 'a',
          clientSecret: 'b',
          secret: 'c',
        } as never),
      'secret',
    ],
    [
      'openMessagingWebhook',
      () => openMessagingWebhook({ secret: 's', onmessage: () => {} } as never),
      'onmessage',
    ],
  ])('%s: an unknown option is invalid-options naming the valid ones', (what, make, typo) => {
    let error: unknown;
    try {
      make();
    } catch (e) {
      error = e;
    }
    expect(isOutboxError(error) && error.code).toBe('invalid-options');
    expect((error as Error).message).toMatch(
      new RegExp(`^${what}: unknown option ${typo} \\(valid: `),
    );
  });

  it('retry.maxAttempts and maxAgeMs may be Infinity (no limit of that kind)', async () => {
    const { outbox } = await open(memoryStore(), {
      retry: { maxAttempts: Infinity, maxAgeMs: Infinity },
    });
    await stillDelivers(outbox);
    await outbox.close();
  });
});

describe('transports, regions and stores refuse bad input at construction', () => {
  it.each<[string, () => unknown, string]>([
    ["httpTransport url 'not a url'", () => httpTransport({ url: 'not a url' }), 'invalid-options'],
    [
      'httpTransport url ftp://',
      () => httpTransport({ url: 'ftp://example.com/x' }),
      'invalid-options',
    ],
    [
      'httpTransport relative url in Node without a fetch',
      () => httpTransport({ url: '/api/messages' }),
      'invalid-options',
    ],
    ['httpTransport url as a number', () => httpTransport({ url: 42 as never }), 'invalid-options'],
    [
      'httpTransport timeoutMs NaN',
      () => httpTransport({ url: 'http://h/x', timeoutMs: NaN }),
      'invalid-options',
    ],
    [
      "openMessagingTransport apiUrl 'not a url'",
      () =>
        openMessagingTransport({
          apiUrl: 'not a url',
          integrationId: 'i',
          tokenProvider: () => 't',
        }),
      'invalid-options',
    ],
    [
      'openMessagingTransport apiUrl ftp://',
      () =>
        openMessagingTransport({ apiUrl: 'ftp://x', integrationId: 'i', tokenProvider: () => 't' }),
      'invalid-options',
    ],
    [
      "openMessagingTransport region 'ireland'",
      () =>
        openMessagingTransport({ region: 'ireland', integrationId: 'i', tokenProvider: () => 't' }),
      'unknown-region',
    ],
    [
      "guestTransport region 'ireland'",
      () => guestTransport({ region: 'ireland', deploymentId: 'd' }),
      'unknown-region',
    ],
    ["resolveRegion('ireland')", () => resolveRegion('ireland'), 'unknown-region'],
    [
      'sqliteStore() without options',
      () => (sqliteStore as (o?: unknown) => unknown)(),
      'invalid-options',
    ],
    ["sqliteStore path ''", () => sqliteStore({ path: '' }), 'invalid-options'],
    ["sqliteStore path ':memory:'", () => sqliteStore({ path: ':memory:' }), 'invalid-options'],
    [
      "sqliteStore path 'file::memory:?cache=shared'",
      () => sqliteStore({ path: 'file::memory:?cache=shared' }),
      'invalid-options',
    ],
  ])('%s', (_kind, make, code) => {
    expect(thrownCode(make)).toBe(code);
  });

  it('a SQLite file in a missing directory: storage-failed that says why in the message', async () => {
    const path = join(dir, 'no', 'such', 'dir', 'outbox.db');
    const e = await createOutbox({
      transport: new ScriptedTransport(),
      store: sqliteStore({ path }),
      coordinator: false,
      logger: silentLogger,
    }).catch((x: unknown) => x);
    expect(isOutboxError(e) && e.code).toBe('storage-failed');
    expect(isOutboxError(e) && e.message).toMatch(/directory does not exist/);
  });

  it('a corrupt SQLite file: storage-failed naming the reason; a good file works after', async () => {
    const path = join(dir, 'corrupt.db');
    writeFileSync(path, Buffer.alloc(8192, 0x5a));
    const e = await createOutbox({
      transport: new ScriptedTransport(),
      store: sqliteStore({ path }),
      coordinator: false,
      logger: silentLogger,
    }).catch((x: unknown) => x);
    expect(isOutboxError(e) && e.code).toBe('storage-failed');
    expect(isOutboxError(e) && e.message).toMatch(/SQLITE_NOTADB/);
    const { outbox } = await open(sqliteStore({ path: join(dir, 'good.db') }));
    await stillDelivers(outbox);
    await outbox.close();
  });
});

describe.each(stores)(
  'ids and lifecycle, %s store: coded, the store unchanged',
  (_name, makeStore) => {
    it('unknown or malformed ids are not-found; retry of a pending entry is invalid-state', async () => {
      const store = makeStore();
      const t = new ScriptedTransport(() => ({
        kind: 'offline',
        error: { code: 'network', message: 'down' },
      }));
      const { outbox } = await open(store, { transport: t });
      const e = await outbox.send({ text: 'kept' });
      const before = await outbox.list();
      for (const id of ['nope', '', {}, 42, null, undefined]) {
        expect(
          await rejectionCode(outbox.whenSettled(id as never)),
          `whenSettled(${String(id)})`,
        ).toBe('not-found');
        expect(await rejectionCode(outbox.retry(id as never)), `retry(${String(id)})`).toBe(
          'not-found',
        );
        expect(await rejectionCode(outbox.discard(id as never)), `discard(${String(id)})`).toBe(
          'not-found',
        );
      }
      expect(await rejectionCode(outbox.retry(e.id))).toBe('invalid-state');
      expect(thrownCode(() => outbox.subscribe('x' as never))).toBe('invalid-options');
      expect((await outbox.list()).map((x) => x.id)).toEqual(before.map((x) => x.id));
      await outbox.close();
    });

    it('every call after close() is closed; a second close() is fine', async () => {
      const store = makeStore();
      const { outbox } = await open(store);
      const e = await outbox.send({ text: 'x' });
      await outbox.close();
      expect(await rejectionCode(outbox.send({ text: 'late' }))).toBe('closed');
      expect(await rejectionCode(outbox.list())).toBe('closed');
      expect(await rejectionCode(outbox.whenSettled(e.id))).toBe('closed');
      expect(await rejectionCode(outbox.retry(e.id))).toBe('closed');
      expect(await rejectionCode(outbox.discard(e.id))).toBe('closed');
      expect(await rejectionCode(outbox.flush())).toBe('closed');
      await expect(outbox.close()).resolves.toBeUndefined();
    });
  },
);

describe('the list of option names', () => {
  it('is every option of OutboxOptions (a new option must be added to OPTION_NAMES)', async () => {
    const { readFileSync } = await import('node:fs');
    const src = readFileSync('src/outbox/createOutbox.ts', 'utf8');
    const body = /export interface OutboxOptions \{([\s\S]*?)\n\}/.exec(src)?.[1] ?? '';
    const declared = [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]);
    const listed = /const OPTION_NAMES =\s*'([^']*)'/.exec(src)?.[1]?.split(' ');
    expect(declared.length).toBeGreaterThan(10);
    expect(listed).toEqual(declared);
  });
});
