// IndexedDB-specific behaviour: error mapping, lost connections, blocked upgrades, corrupt
// records, schema upgrades, and how heads() reads. Real timers only (fake-indexeddb stalls
// under fake timers).
import 'fake-indexeddb/auto';
import {
  IDBCursor,
  IDBDatabase,
  IDBIndex,
  IDBObjectStore,
  IDBTransaction,
  forceCloseDatabase,
} from 'fake-indexeddb';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { indexedDbStore, SCHEMA_VERSION } from '../../src/store/indexedDb.js';
import { memoryStore } from '../../src/store/memory.js';
import type { OutboxStore, TranscriptRecord } from '../../src/store/OutboxStore.js';
import { transcriptLines } from '../../src/transcript/lines.js';
import type { StoredEntry } from '../../src/outbox/entry.js';
import { orderOf } from '../../src/outbox/entry.js';
import { idbFactory as factory } from '../helpers/idbFactory.js';
import { propertyParams } from '../helpers/property.js';
import { codeOf, line, newEntry } from './store-contract.js';

const NAME = 'genesys-webmessaging-outbox';

function openRaw(
  indexedDB: IDBFactory,
  version: number | undefined,
  upgrade?: (db: IDBDatabase) => void,
): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(NAME, version);
    req.onupgradeneeded = () => upgrade?.(req.result);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function putRaw(
  db: IDBDatabase,
  store: string,
  values: unknown[],
  key?: IDBValidKey,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, 'readwrite');
    for (const v of values) tx.objectStore(store).put(v, key);
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error);
  });
}

/** The v3 schema as the previous release created it (entries, meta, transcript, quarantine). */
function createV3(db: IDBDatabase): void {
  const entries = db.createObjectStore('entries', { keyPath: 'id' });
  entries.createIndex('seq', 'seq');
  entries.createIndex('heads', ['queueConversationId', 'seq']);
  db.createObjectStore('meta');
  const transcript = db.createObjectStore('transcript', { keyPath: 'key' });
  transcript.createIndex('byTime', ['conversationId', 'time', 'n']);
  transcript.createIndex('byOrder', ['conversationId', 'order', 'time', 'n']);
  db.createObjectStore('quarantine', { autoIncrement: true });
}

/** Index names of every object store of an open connection. */
function indexNames(db: IDBDatabase): Record<string, string[]> {
  const tx = db.transaction([...db.objectStoreNames]);
  return Object.fromEntries(
    [...db.objectStoreNames].map((s) => [s, [...tx.objectStore(s).indexNames].sort()]),
  );
}

function countRaw(db: IDBDatabase, store: string, index?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = db.transaction(store).objectStore(store);
    const req = (index === undefined ? s : s.index(index)).count();
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Makes the wall clock of `reserve` (performance.timeOrigin + performance.now()) read `ms` earlier. */
function clockBack(ms: number): void {
  const now = performance.now.bind(performance);
  vi.spyOn(performance, 'now').mockImplementation(() => now() - ms);
}

function getAllRaw(db: IDBDatabase, store: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const req = db.transaction(store).objectStore(store).getAll();
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

// Counts cursor steps. Installed once, before idb first looks at IDBCursor.prototype (it
// recognises cursor methods by identity, so a per-test vi.spyOn would hide them from it).
let cursorSteps = 0;
const originalContinue = IDBCursor.prototype.continue;
IDBCursor.prototype.continue = function (this: IDBCursor, key?: IDBValidKey) {
  cursorSteps++;
  return originalContinue.call(this, key);
};

const quota = (): DOMException =>
  new DOMException('The quota has been exceeded.', 'QuotaExceededError');

let store: OutboxStore | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await store?.close();
  store = undefined;
});

describe('indexedDbStore: errors', () => {
  it('a put that throws QuotaExceededError rejects with storage-full and stores nothing', async () => {
    const { indexedDB } = factory();
    store = indexedDbStore({ indexedDB });
    const [first] = await store.append([newEntry()]);
    const spy = vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(() => {
      throw quota();
    });
    expect(await codeOf(store.append([newEntry(), newEntry()]))).toBe('storage-full');
    spy.mockRestore();
    expect(await store.count()).toBe(1);
    // the store still works, and keeps its order (a failed batch may leave a gap, never a repeat)
    const [e] = await store.append([newEntry()]);
    expect(e!.seq).toBeGreaterThan(first!.seq);
    expect((await store.list()).map((x) => x.id)).toEqual([first!.id, e!.id]);
  });

  it('a transaction aborted with a quota error (as browsers do) rejects with storage-full', async () => {
    const { indexedDB } = factory();
    store = indexedDbStore({ indexedDB });
    // fake-indexeddb's internal abort with an error name: request errors are AbortError,
    // transaction.error is the QuotaExceededError.
    const abortingWrite = (method: 'put' | 'add') => {
      const original = IDBObjectStore.prototype[method];
      return vi.spyOn(IDBObjectStore.prototype, method).mockImplementation(function (
        this: IDBObjectStore,
        ...args: Parameters<IDBObjectStore['put']>
      ) {
        const request = original.apply(this, args);
        (this.transaction as unknown as { _abort(name: string): void })._abort(
          'QuotaExceededError',
        );
        return request;
      });
    };
    const put = abortingWrite('put');
    const add = abortingWrite('add');
    expect(await codeOf(store.setMeta('k', 'v'))).toBe('storage-full');
    expect(await codeOf(store.append([newEntry()]))).toBe('storage-full');
    // a full disk is not retried
    expect(put).toHaveBeenCalledTimes(1);
    expect(add).toHaveBeenCalledTimes(1);
  });

  it('an abort without a quota cause rejects with storage-failed (after one retry), never hangs', async () => {
    const { indexedDB, connections } = factory();
    store = indexedDbStore({ indexedDB });
    await store.open();
    const original = IDBObjectStore.prototype.put;
    const put = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore['put']>
    ) {
      const request = original.apply(this, args);
      this.transaction.abort();
      return request;
    });
    const err = await store.setMeta('k', 'v').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'storage-failed' });
    expect((err as { cause?: { name?: string } }).cause?.name).toBe('AbortError');
    expect(put).toHaveBeenCalledTimes(2); // tried once more on a fresh connection
    expect(connections.length).toBe(2);
    put.mockRestore();
    expect(await store.getMeta('k')).toBeUndefined();
  });

  it('an append whose transaction aborts is not retried behind a later append: committed appends become visible in key order', async () => {
    const { indexedDB } = factory();
    store = indexedDbStore({ indexedDB });
    await store.open();
    const original = IDBObjectStore.prototype.add;
    let adds = 0;
    const add = vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore['add']>
    ) {
      const request = original.apply(this, args);
      if (adds++ === 0) this.transaction.abort(); // the first append's transaction, once
      return request;
    });
    const a = newEntry({ conversationId: 'c', text: 'a' });
    const b = newEntry({ conversationId: 'c', text: 'b' });
    const committed: string[] = [];
    const outcome = (p: Promise<unknown>, text: string) =>
      p.then(
        () => committed.push(text),
        (e: unknown) => (e as { code?: string }).code,
      );
    // Two sends of one conversation in separate tasks: a's key is below b's.
    const [ra, rb] = await Promise.all([
      outcome(store.append([a]), 'a'),
      outcome(store.append([b]), 'b'),
    ]);
    add.mockRestore();
    // Before: a was retried on a fresh connection after b had committed, so for a moment b was
    // its conversation's head (another tab's sender could send it first): committed b, a.
    // Now a is not retried behind b: it rejects (the caller knows it is not stored).
    expect(committed).toEqual(['b']);
    expect(ra).toBe('storage-failed');
    expect(rb).toBe(1);
    expect((await store.list()).map((e) => e.text)).toEqual(['b']);
    // Alone, an aborted append is still retried once and committed.
    let again = 0;
    const once = vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore['add']>
    ) {
      const request = original.apply(this, args);
      if (again++ === 0) this.transaction.abort();
      return request;
    });
    const c = newEntry({ conversationId: 'c', text: 'c' });
    await store.append([c]);
    once.mockRestore();
    expect((await store.list()).map((e) => e.text)).toEqual(['b', 'c']);
  });

  it('property: appends of one conversation, any of them aborted once like a lost connection, commit in call order; a rejected one stores nothing', async () => {
    // Each program: appends issued one after the other, some after awaiting what came before
    // (separate bursts), each one's transaction maybe aborted once at its first write.
    const step = fc.record({ abort: fc.boolean(), settleFirst: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const { indexedDB } = factory();
        const s = indexedDbStore({ indexedDB });
        await s.open();
        const toAbort = new Set<string>();
        const spy = (method: 'add' | 'put') => {
          const original = IDBObjectStore.prototype[method];
          return vi.spyOn(IDBObjectStore.prototype, method).mockImplementation(function (
            this: IDBObjectStore,
            ...args: Parameters<IDBObjectStore['add']>
          ) {
            const request = original.apply(this, args);
            const text = (args[0] as { text?: unknown }).text;
            if (typeof text === 'string' && toAbort.delete(text)) this.transaction.abort();
            return request;
          });
        };
        const spies = [spy('add'), spy('put')];
        try {
          const committed: string[] = [];
          const rejected: string[] = [];
          const calls: Promise<unknown>[] = [];
          const texts: string[] = [];
          for (const [i, { abort, settleFirst }] of steps.entries()) {
            if (settleFirst) await Promise.allSettled(calls);
            const text = `m${i}`;
            texts.push(text);
            if (abort) toAbort.add(text);
            calls.push(
              s.append([newEntry({ conversationId: 'c', text })]).then(
                () => committed.push(text),
                (e: unknown) => rejected.push(`${text}:${(e as { code?: string }).code}`),
              ),
            );
          }
          await Promise.allSettled(calls);
          // Every append answered, and committed ones became visible in the order they were called.
          expect([...committed, ...rejected.map((r) => r.split(':')[0])].sort()).toEqual(
            [...texts].sort(),
          );
          for (const r of rejected) expect(r).toMatch(/:storage-failed$/);
          const inCallOrder = texts.filter((t) => committed.includes(t));
          expect(committed).toEqual(inCallOrder);
          expect((await s.list()).map((e) => e.text)).toEqual(inCallOrder);
        } finally {
          for (const x of spies) x.mockRestore();
          await s.close();
        }
      }),
      propertyParams(60),
    );
  });

  it('a failing open rejects with storage-failed, and the next call tries again', async () => {
    const { indexedDB } = factory();
    // A newer version on disk (e.g. after a library downgrade): VersionError.
    (await openRaw(indexedDB, SCHEMA_VERSION + 1)).close();
    store = indexedDbStore({ indexedDB });
    const err = await store.count().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'storage-failed' });
    expect((err as { cause?: { name?: string } }).cause?.name).toBe('VersionError');
    expect(await codeOf(store.count())).toBe('storage-failed');
  });

  it('without any IndexedDB: storage-failed', async () => {
    store = indexedDbStore({ indexedDB: undefined as unknown as IDBFactory });
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB');
    Object.defineProperty(globalThis, 'indexedDB', { value: undefined, configurable: true });
    try {
      expect(await codeOf(store.open())).toBe('storage-failed');
    } finally {
      Object.defineProperty(globalThis, 'indexedDB', saved!);
    }
  });
});

describe('indexedDbStore: order keys', () => {
  it("a second store instance (another tab) that never read the first one's counter still orders after it", async () => {
    const { indexedDB } = factory();
    store = indexedDbStore({ indexedDB });
    const tabB = indexedDbStore({ indexedDB });
    await tabB.append([newEntry({ conversationId: 'c' })]); // B reads the counter once, now
    const [a1] = await store.append([newEntry({ conversationId: 'c' })]);
    const [a2] = await store.append([newEntry({ conversationId: 'c' })]);
    await new Promise((r) => setTimeout(r, 2)); // the user switches tab a moment later
    const [b1] = await tabB.append([newEntry({ conversationId: 'c' })]); // B's cached counter is stale
    expect(b1!.seq).toBeGreaterThan(a2!.seq);
    expect(a2!.seq).toBeGreaterThan(a1!.seq);
    await tabB.close();
  });

  it('an append reads the counter only on first use', async () => {
    const { indexedDB } = factory();
    store = indexedDbStore({ indexedDB });
    await store.append([newEntry()]);
    const get = vi.spyOn(IDBObjectStore.prototype, 'get');
    await store.append([newEntry()]);
    await store.append([newEntry(), newEntry()]);
    expect(get).not.toHaveBeenCalled();
    get.mockRestore();
  });
});

describe('indexedDbStore: connection life', () => {
  it('a connection closed under us is reopened and the operation succeeds', async () => {
    const { indexedDB, connections } = factory();
    store = indexedDbStore({ indexedDB });
    const [a] = await store.append([newEntry()]);
    connections[0]!.close(); // InvalidStateError on the next transaction()
    expect(await store.get(a!.id)).toEqual(a);
    const [b] = await store.append([newEntry()]);
    expect(b!.seq).toBeGreaterThan(a!.seq);
    expect(connections.length).toBe(2);
  });

  it('an unexpected close event (connection lost) reopens lazily', async () => {
    const { indexedDB, connections } = factory();
    store = indexedDbStore({ indexedDB });
    await store.append([newEntry()]);
    const closed = new Promise((resolve) => connections[0]!.addEventListener('close', resolve));
    // fake-indexeddb declares the parameter as `typeof IDBDatabase` but takes an instance.
    forceCloseDatabase(connections[0] as unknown as typeof IDBDatabase);
    await closed;
    expect(await store.count()).toBe(1);
    expect(connections.length).toBe(2);
  });

  it('steps aside on versionchange (another tab upgrades or deletes) and reopens on the next call', async () => {
    const { indexedDB, connections } = factory();
    store = indexedDbStore({ indexedDB });
    await store.append([newEntry()]);
    // Would be blocked forever if the store kept its connection open.
    await new Promise<void>((resolve, reject) => {
      const del = indexedDB.deleteDatabase(NAME);
      del.onsuccess = () => resolve();
      del.onerror = () => reject(del.error);
      del.onblocked = () => reject(new Error('blocked'));
    });
    expect(await store.count()).toBe(0);
    await store.append([newEntry()]);
    expect(connections.length).toBe(2);
  });

  it('blocked by an old connection: rejects storage-failed after the bounded wait, then opens once it is gone', async () => {
    const { indexedDB } = factory();
    const old = await openRaw(indexedDB, 1, (db) => {
      db.createObjectStore('entries', { keyPath: 'id' }).createIndex('seq', 'seq');
      db.createObjectStore('meta');
    });
    old.onversionchange = null; // a tab that never yields
    store = indexedDbStore({ indexedDB, blockedTimeoutMs: 50 });
    const err = await store.open().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'storage-failed' });
    expect((err as Error).message).toMatch(/blocked/);
    old.close();
    await store.open();
    expect(await store.count()).toBe(0);
  });

  it('durability is passed to write transactions', async () => {
    const { indexedDB } = factory();
    const spy = vi.spyOn(IDBDatabase.prototype, 'transaction');
    store = indexedDbStore({ indexedDB, durability: 'strict' });
    await store.open(); // reads the highest stored seq (one read-only transaction)
    spy.mockClear();
    await store.append([newEntry()]);
    await store.count();
    const calls = spy.mock.calls.map((c) => [c[1], c[2]]).filter((c) => c[0] !== 'versionchange');
    expect(calls).toEqual([
      ['readwrite', { durability: 'strict' }],
      ['readonly', undefined],
    ]);
  });

  it('an append writes one record (one request, one entry of `heads`) per conversation of a batch, not per message; a single write touches `entries` alone', async () => {
    const { indexedDB, connections } = factory();
    store = indexedDbStore({ indexedDB });
    await store.open();
    await store.heads(); // the operations chunk is here (a batch before it: one entry per message)
    const tx = vi.spyOn(IDBDatabase.prototype, 'transaction');
    const puts = vi.spyOn(IDBObjectStore.prototype, 'put');
    const batch = Array.from({ length: 100 }, (_, i) => newEntry({ conversationId: `c${i % 2}` }));
    const stored = await store.append(batch);
    await store.append([newEntry()]);
    expect(tx.mock.calls.map((c) => c[0])).toEqual([['entries', 'meta'], ['entries']]);
    const raw = connections[0]!;
    expect(indexNames(raw)['entries']).toEqual(['heads', 'ids']);
    expect(await countRaw(raw, 'entries', 'heads')).toBe(3);
    expect(await countRaw(raw, 'entries')).toBe(3);
    expect(await countRaw(raw, 'entries', 'ids')).toBe(101);
    expect(await store.count()).toBe(101);
    // The one write beside the entries: the mark, raised to the highest member's key.
    expect(puts.mock.contexts.map((s) => (s as IDBObjectStore).name)).toEqual(['meta']);
    expect(puts.mock.calls[0]?.[0]).toBe(stored.at(-1)!.seq);
  });

  it('a burst of 1,000 to one conversation: one entry of `heads` per 64 messages; heads, list and reopen keys as before', async () => {
    const { indexedDB, connections } = factory();
    store = indexedDbStore({ indexedDB });
    await store.open();
    await store.heads();
    const stored = await store.append(
      Array.from({ length: 1000 }, () => newEntry()),
      { generatedIds: true },
    );
    expect(await countRaw(connections[0]!, 'entries', 'heads')).toBe(16);
    expect((await store.heads()).map((e) => e.id)).toEqual([stored[0]!.id]);
    // Runs of 64: the 64th is held by the first, the 65th holds the next ones.
    for (const e of stored.slice(0, 70)) {
      expect((await store.headOf!('c1'))?.id).toBe(e.id);
      await store.remove(e.id);
    }
    expect((await store.list()).map((e) => e.id)).toEqual(stored.slice(70).map((e) => e.id));
    await store.close();
    clockBack(60_000); // the members' keys are known only from the mark
    store = indexedDbStore({ indexedDB });
    const [next] = await store.append([newEntry()]);
    expect(next!.seq).toBe(stored.at(-1)!.seq + 1);
  });

  it('runs: the first queued entry of each conversation stays the head whatever leaves (removed, failed, requeued, discarded in the middle)', async () => {
    const { indexedDB } = factory();
    store = indexedDbStore({ indexedDB });
    await store.open();
    await store.heads();
    const s = store;
    const a = await s.append(
      Array.from({ length: 6 }, (_, i) => newEntry({ conversationId: i % 3 === 2 ? 'y' : 'x' })),
    );
    // x: a0 a1 a3 a4 (a run held by a0), y: a2 a5
    const head = async (c: string) => (await s.headOf!(c))?.id;
    const ids = (es: StoredEntry[]) => es.map((e) => e.id);
    expect(ids(await s.heads())).toEqual([a[0]!.id, a[2]!.id]);
    await s.update({ ...a[0]!, status: 'sending', attempts: 1 }); // the holder stays
    expect(await head('x')).toBe(a[0]!.id);
    await s.update({ ...a[3]!, text: 'edited' }); // a member stays a member
    expect(await head('x')).toBe(a[0]!.id);
    await s.remove(a[3]!.id); // a member leaves: its holder forgets it
    await s.remove(a[0]!.id); // the holder leaves: a1 holds a4
    expect(await head('x')).toBe(a[1]!.id);
    await s.update({ ...a[1]!, status: 'failed' }); // failed: a4 is the head
    expect(await head('x')).toBe(a[4]!.id);
    await s.update({ ...a[2]!, status: 'pending', attempts: 1 }, { requeue: true }); // y: to the back
    expect(await head('y')).toBe(a[5]!.id);
    await s.remove(a[5]!.id);
    expect(await head('y')).toBe(a[2]!.id);
    await s.remove(a[4]!.id);
    expect(await head('x')).toBeUndefined();
    expect(ids(await s.list())).toEqual([a[1]!.id, a[2]!.id]);
    // A member that failed is out of its run: when the holder goes, the next queued one holds.
    const b = await s.append([newEntry(), newEntry(), newEntry(), newEntry()]);
    await s.update({ ...b[1]!, status: 'failed' });
    await s.remove(b[0]!.id);
    expect(await head('c1')).toBe(b[2]!.id);
    await s.remove(b[2]!.id);
    expect(await head('c1')).toBe(b[3]!.id);
  });

  it('property: over batches (packs), removals, failures, requeues, edits and refused duplicates, heads, list, count and get are those of the memory store', async () => {
    const op = fc.oneof(
      fc.record({
        k: fc.constant('append' as const),
        convs: fc.array(fc.nat(2), { minLength: 1, maxLength: 5 }),
        generated: fc.boolean(),
      }),
      // a burst longer than a pack (64): one conversation's entries over two or three records
      fc.record({
        k: fc.constant('burst' as const),
        n: fc.integer({ min: 60, max: 140 }),
        c: fc.nat(2),
        generated: fc.boolean(),
      }),
      // an append (ids not generated) that repeats an id: stored already, or twice in the batch
      fc.record({
        k: fc.constant('dup' as const),
        pick: fc.nat(300),
        within: fc.boolean(),
      }),
      fc.record({
        k: fc.constantFrom(
          'remove' as const,
          'fail' as const,
          'requeue' as const,
          'touch' as const,
        ),
        pick: fc.nat(300),
      }),
    );
    const plain = (es: (StoredEntry | undefined)[]) =>
      es.map((e) => (e === undefined ? undefined : { ...e, seq: 0 }));
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 20 }), async (ops) => {
        const { indexedDB } = factory();
        const idb = indexedDbStore({ indexedDB });
        const mem = memoryStore();
        await idb.open();
        await idb.heads();
        const order = (es: StoredEntry[]) => es.map((e) => e.id);
        const gone: string[] = [];
        try {
          for (const o of ops) {
            const all = await mem.list();
            const e = 'pick' in o ? all[o.pick % Math.max(1, all.length)] : undefined;
            if (o.k === 'append' || o.k === 'burst') {
              const batch =
                o.k === 'burst'
                  ? Array.from({ length: o.n }, () => newEntry({ conversationId: `c${o.c}` }))
                  : o.convs.map((c) => newEntry({ conversationId: `c${c}` }));
              await idb.append(batch, { generatedIds: o.generated });
              await mem.append(batch);
            } else if (o.k === 'dup') {
              const twice = newEntry();
              const batch = [newEntry(), newEntry(), twice];
              if (o.within) batch.push({ ...newEntry(), id: twice.id });
              else if (e !== undefined) batch.push({ ...newEntry(), id: e.id });
              else continue;
              expect(await codeOf(idb.append(batch))).toBe('invalid-id');
              expect(await codeOf(mem.append(batch))).toBe('invalid-id');
            } else if (e === undefined) {
              continue;
            } else if (o.k === 'remove') {
              await idb.remove(e.id);
              await mem.remove(e.id);
              gone.push(e.id);
            } else {
              const changed = {
                ...e,
                status: o.k === 'fail' ? ('failed' as const) : ('pending' as const),
                attempts: e.attempts + 1,
                text: o.k === 'touch' ? `${e.text}!` : e.text,
              };
              const opts = o.k === 'requeue' ? { requeue: true } : undefined;
              await idb.update({ ...changed, seq: (await idb.get(e.id))!.seq }, opts);
              await mem.update(changed, opts);
            }
            expect(order(await idb.heads())).toEqual(order(await mem.heads()));
            expect(plain(await idb.list())).toEqual(plain(await mem.list()));
            expect(await idb.count()).toBe(await mem.count());
            const probe = [e?.id, (await mem.list()).at(-1)?.id, gone.at(-1)].filter(
              (id): id is string => id !== undefined,
            );
            for (const id of probe) {
              expect(plain([await idb.get(id)])).toEqual(plain([await mem.get(id)]));
            }
          }
          expect(order(await idb.heads())).toEqual(order(await mem.heads()));
        } finally {
          await idb.close();
          await mem.close();
        }
      }),
      propertyParams(300),
    );
  }, 180_000);

  it('property: two tabs writing bursts to one conversation at once (key ranges that overlap, keys that tie): draining goes in key order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ tab: fc.nat(1), n: fc.integer({ min: 1, max: 80 }) }), {
          minLength: 2,
          maxLength: 6,
        }),
        async (bursts) => {
          // A clock that moves 2 µs per reading: the tabs' key ranges overlap, and keys tie.
          const t0 = performance.now();
          let reads = 0;
          const clock = vi.spyOn(performance, 'now').mockImplementation(() => t0 + reads++ * 0.002);
          const { indexedDB } = factory();
          const tabs = [indexedDbStore({ indexedDB }), indexedDbStore({ indexedDB })];
          try {
            for (const t of tabs) {
              await t.open();
              await t.heads(); // the operations chunk is here: bursts are packs
            }
            // Issued without awaiting: each tab reserves keys ahead of the shared clock.
            const written = (
              await Promise.all(
                bursts.map((b) =>
                  tabs[b.tab]!.append(
                    Array.from({ length: b.n }, () => newEntry()),
                    { generatedIds: true },
                  ),
                ),
              )
            ).flat();
            // Key order; equal keys (two tabs, one microsecond) by id, as the `heads` index has them.
            const inKeyOrder = [...written]
              .sort((x, y) => x.seq - y.seq || (x.id < y.id ? -1 : 1))
              .map((e) => e.id);
            const drained: string[] = [];
            for (let i = 0; i < written.length; i++) {
              const head = await tabs[i % 2]!.headOf!('c1');
              if (head === undefined) break;
              drained.push(head.id);
              await tabs[(i + 1) % 2]!.remove(head.id);
            }
            expect(drained).toEqual(inKeyOrder);
            expect(await tabs[0]!.count()).toBe(0);
          } finally {
            clock.mockRestore();
            await Promise.all(tabs.map((t) => t.close()));
          }
        },
      ),
      propertyParams(40),
    );
  }, 120_000);

  it('open finds the highest key with one seek per conversation from the end of `heads`', async () => {
    const { indexedDB } = factory();
    store = indexedDbStore({ indexedDB });
    const batch = Array.from({ length: 150 }, (_, i) => newEntry({ conversationId: `c${i % 3}` }));
    const stored = await store.append(batch);
    await store.close();
    const seeks = vi.spyOn(IDBIndex.prototype, 'openKeyCursor');
    cursorSteps = 0;
    clockBack(60_000);
    store = indexedDbStore({ indexedDB });
    await store.open();
    expect(seeks.mock.calls.map((c) => c[1])).toEqual(['prev', 'prev', 'prev', 'prev']);
    expect(cursorSteps).toBe(0);
    const [next] = await store.append([newEntry()]);
    expect(next!.seq).toBe(stored.at(-1)!.seq + 1);
  });

  it('an append on an open connection starts its transaction at once, not a tick later', async () => {
    const { indexedDB } = factory();
    store = indexedDbStore({ indexedDB });
    await store.open();
    const spy = vi.spyOn(IDBDatabase.prototype, 'transaction');
    const appended = store.append([newEntry()]);
    expect(spy).toHaveBeenCalledTimes(1);
    await appended;
    expect(await store.count()).toBe(1);
  });

  it('an append commits its transaction as soon as its adds are issued (one round trip less), and a duplicate id still aborts all of it', async () => {
    const { indexedDB } = factory();
    store = indexedDbStore({ indexedDB });
    await store.open();
    const commit = vi.spyOn(IDBTransaction.prototype, 'commit');
    const appended = store.append([newEntry()]);
    expect(commit).toHaveBeenCalledTimes(1); // at the call, not after the requests came back
    await appended;
    // A batch (a run, once the operations chunk is here) commits once the mark was read.
    await store.append([newEntry()]);
    // The commit is asked for before the requests ran: a failing add still aborts the batch.
    const [a] = await store.list();
    const b = newEntry();
    expect(await codeOf(store.append([b, { ...a!, text: 'again' }]))).toBe('invalid-id');
    expect(commit).toHaveBeenCalledTimes(3);
    expect(await store.get(b.id)).toBeUndefined();
    expect((await store.get(a!.id))?.text).toBe(a!.text);
    expect(await store.count()).toBe(2);
  });

  it("ids the caller generated (send()'s) are written with put, which skips the existing-record lookup; any other id with add", async () => {
    const { indexedDB } = factory();
    store = indexedDbStore({ indexedDB });
    await store.open();
    await store.heads(); // the operations chunk is here: a batch is written as packs
    const puts = vi.spyOn(IDBObjectStore.prototype, 'put');
    const adds = vi.spyOn(IDBObjectStore.prototype, 'add');
    const onEntries = (m: typeof puts | typeof adds) =>
      m.mock.contexts.filter((s) => (s as IDBObjectStore).name === 'entries').length;
    await store.append([newEntry(), newEntry({ conversationId: 'c2' })], { generatedIds: true });
    expect([onEntries(puts), onEntries(adds)]).toEqual([2, 0]);
    await store.append([newEntry()]);
    expect([onEntries(puts), onEntries(adds)]).toEqual([2, 1]);
    expect(await store.count()).toBe(3);
  });

  it('append of many entries is one readwrite transaction (group commit)', async () => {
    const { indexedDB } = factory();
    store = indexedDbStore({ indexedDB });
    await store.open();
    const spy = vi.spyOn(IDBDatabase.prototype, 'transaction');
    await store.append(Array.from({ length: 100 }, () => newEntry()));
    expect(spy).toHaveBeenCalledTimes(1);
    expect(await store.count()).toBe(100);
  });
});

describe('indexedDbStore: reading', () => {
  it('heads() seeks once per conversation on the index, never steps through entries or calls getAll', async () => {
    const { indexedDB } = factory();
    store = indexedDbStore({ indexedDB });
    const batch = Array.from({ length: 150 }, (_, i) => newEntry({ conversationId: `c${i % 3}` }));
    await store.append(batch);
    // Failed entries (in `heads` since v5, past every conversation) are never looked at either.
    await store.append(Array.from({ length: 50 }, () => newEntry({ status: 'failed' })));
    const getAllStore = vi.spyOn(IDBObjectStore.prototype, 'getAll');
    const getAllIndex = vi.spyOn(IDBIndex.prototype, 'getAll');
    const seeks = vi.spyOn(IDBIndex.prototype, 'openCursor');
    cursorSteps = 0;
    const heads = await store.heads();
    expect(heads.map((e) => e.id)).toEqual([batch[0]!.id, batch[1]!.id, batch[2]!.id]);
    expect(getAllStore).not.toHaveBeenCalled();
    expect(getAllIndex).not.toHaveBeenCalled();
    // one seek per conversation plus the one that finds the end; no step through the 150 entries
    expect(seeks).toHaveBeenCalledTimes(4);
    expect(cursorSteps).toBe(0);
    seeks.mockRestore();
  });

  it('a corrupt record is quarantined and reported; heads and list go on without it', async () => {
    const { indexedDB, connections } = factory();
    const onCorrupt = vi.fn();
    store = indexedDbStore({ indexedDB, onCorrupt });
    const [good1, good2] = await store.append([newEntry(), newEntry({ conversationId: 'c2' })]);
    // Written behind the store's back: the head of c1 (seq 0) without text; another with a bad id type.
    const raw = connections[0]!;
    const noText = {
      id: 'bad-1',
      conversationId: 'c1',
      queueConversationId: 'c1',
      seq: 0,
      status: 'pending',
      attempts: 0,
      createdAt: 1,
    };
    await putRaw(raw, 'entries', [noText]);

    expect((await store.heads()).map((e) => e.id)).toEqual([good1!.id, good2!.id]);
    expect(onCorrupt).toHaveBeenCalledTimes(1);
    expect(onCorrupt).toHaveBeenCalledWith({ key: 'bad-1', reason: 'text is not a string' });
    const quarantined = (await getAllRaw(raw, 'quarantine')) as {
      key: unknown;
      reason: string;
      value: unknown;
    }[];
    expect(quarantined.map((q) => [q.key, q.reason, q.value])).toEqual([
      ['bad-1', 'text is not a string', noText],
    ]);

    const badSeq = { ...noText, id: 'bad-2', text: 'x', seq: 'NaN' };
    await putRaw(raw, 'entries', [badSeq]);
    expect((await store.list()).map((e) => e.id)).toEqual([good1!.id, good2!.id]);
    expect(onCorrupt).toHaveBeenLastCalledWith({ key: 'bad-2', reason: 'seq is not a number' });
    expect(await store.count()).toBe(2);
    expect(onCorrupt).toHaveBeenCalledTimes(2);
  });

  it('a corrupt pack holder: heads() gives none of its conversation rather than an entry after its pack, then its pack goes on', async () => {
    const { indexedDB, connections } = factory();
    store = indexedDbStore({ indexedDB, onCorrupt: () => {} });
    await store.open();
    await store.heads();
    const run = await store.append([newEntry(), newEntry(), newEntry()]);
    const [later] = await store.append([newEntry()]);
    const raw = connections[0]!;
    const [holder] = (await getAllRaw(raw, 'entries')).filter(
      (r) => (r as { id: string }).id === run[0]!.id,
    ) as Record<string, unknown>[];
    expect(holder?.['ids']).toEqual(run.map((e) => e.id));
    expect((holder?.['pack'] as StoredEntry[]).map((e) => e.id)).toEqual([run[1]!.id, run[2]!.id]);
    await putRaw(raw, 'entries', [{ ...holder, text: 42 }]);
    const first = (await store.heads()).map((e) => e.id);
    expect(first).not.toContain(later!.id);
    expect((await store.heads()).map((e) => e.id)).toEqual([run[1]!.id]);
    expect((await store.list()).map((e) => e.id)).toEqual([run[1]!.id, run[2]!.id, later!.id]);
  });

  it('a pack that cannot be read goes to quarantine whole and is reported, never sent or dropped; other conversations go on', async () => {
    const { indexedDB, connections } = factory();
    const reported: { key: unknown; reason: string }[] = [];
    store = indexedDbStore({ indexedDB, onCorrupt: (info) => reported.push(info) });
    await store.open();
    await store.heads();
    const x = await store.append([newEntry(), newEntry(), newEntry()], { generatedIds: true });
    const y = await store.append(
      [newEntry({ conversationId: 'y' }), newEntry({ conversationId: 'y' })],
      { generatedIds: true },
    );
    const raw = connections[0]!;
    const records = (await getAllRaw(raw, 'entries')) as Record<string, unknown>[];
    const holder = (id: string) => records.find((r) => r['id'] === id)!;
    const px = holder(x[0]!.id);
    const pack = px['pack'] as StoredEntry[];
    await putRaw(raw, 'entries', [{ ...px, pack: [pack[0], { ...pack[1], text: 42 }] }]);
    expect((await store.heads()).map((e) => e.id)).toEqual([y[0]!.id]);
    expect(reported).toEqual([{ key: x[0]!.id, reason: 'pack: text is not a string' }]);
    expect((await store.list()).map((e) => e.id)).toEqual(y.map((e) => e.id));
    const aside = (await getAllRaw(raw, 'quarantine')) as { value: Record<string, unknown> }[];
    expect(aside.map((q) => (q.value['ids'] as string[]).length)).toEqual([3]);
    // Removing the holder of a pack nobody read yet: the pack goes aside, not with it.
    const py = holder(y[0]!.id);
    const packY = py['pack'] as StoredEntry[];
    await putRaw(raw, 'entries', [{ ...py, pack: [{ ...packY[0], status: 'bogus' }] }]);
    await store.remove(y[0]!.id);
    expect(reported.at(-1)).toEqual({ key: y[0]!.id, reason: 'pack: unknown status' });
    expect(await store.count()).toBe(0);
    const kept = (await getAllRaw(raw, 'quarantine')) as { value: { pack?: StoredEntry[] } }[];
    expect(kept.at(-1)?.value.pack?.map((e) => e.id)).toEqual([y[1]!.id]);
  });

  it('a throwing onCorrupt does not break reads', async () => {
    const { indexedDB, connections } = factory();
    store = indexedDbStore({
      indexedDB,
      onCorrupt: () => {
        throw new Error('boom');
      },
    });
    const [good] = await store.append([newEntry()]);
    await putRaw(connections[0]!, 'entries', [{ id: 'bad', status: 'pending' }]);
    expect(await store.list()).toEqual([good]);
    expect(await store.get('bad')).toBeUndefined();
  });
});

describe('indexedDbStore: a removed key is never handed out again', () => {
  it('after the highest entry failed and every queued one was removed', async () => {
    const { indexedDB } = factory();
    store = indexedDbStore({ indexedDB });
    // Stored as failed (an import): never queued.
    const [imported] = await store.append([newEntry({ conversationId: 'd', status: 'failed' })]);
    const [a] = await store.append([newEntry({ conversationId: 'c' })]);
    const [b] = await store.append([newEntry({ conversationId: 'c' })]);
    const failed = await store.update({
      ...b!,
      status: 'failed',
      lastError: { code: 'rejected', message: 'no' },
    });
    await store.remove(a!.id);
    await store.close();
    clockBack(60_000);
    store = indexedDbStore({ indexedDB });
    const [c] = await store.append([newEntry({ conversationId: 'c' })]);
    expect(c!.seq).toBeGreaterThan(failed.seq);
    expect((await store.list()).map((e) => e.id)).toEqual([imported!.id, b!.id, c!.id]);
    // The import alone: its key is kept too.
    await store.remove(b!.id);
    await store.remove(c!.id);
    await store.close();
    vi.restoreAllMocks();
    const { indexedDB: other } = factory();
    store = indexedDbStore({ indexedDB: other });
    const [i2] = await store.append([newEntry({ status: 'failed' })]);
    await store.close();
    clockBack(60_000);
    store = indexedDbStore({ indexedDB: other });
    const [after] = await store.append([newEntry()]);
    expect(after!.seq).toBeGreaterThan(i2!.seq);
  });

  it('after every entry was removed and the store reopened with the wall clock a minute back', async () => {
    const { indexedDB } = factory();
    store = indexedDbStore({ indexedDB });
    const [a, b, c] = await store.append([newEntry(), newEntry(), newEntry()]); // c: the top
    const [d] = await store.append([newEntry({ conversationId: 'c2' })]);
    const requeued = await store.update(a!, { requeue: true });
    await store.remove(c!.id); // the top of its batch, while a and b remain
    await store.removeDelivered!(requeued.id, []);
    await store.remove(b!.id);
    await store.remove(d!.id);
    expect(await store.count()).toBe(0);
    await store.close();
    const highest = Math.max(...[a, b, c, d, requeued].map((e) => e!.seq));
    clockBack(60_000);
    store = indexedDbStore({ indexedDB });
    const [e] = await store.append([newEntry()]);
    expect(e!.seq).toBeGreaterThan(highest);
  });

  it('property: over appends, requeues, removals, reopens and a clock that goes back, every key is above every key handed out before', async () => {
    type Op =
      | { op: 'append'; n: number }
      | { op: 'requeue' | 'fail' | 'remove' | 'deliver'; pick: number }
      | { op: 'reopen'; backMs: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('append' as const), n: fc.integer({ min: 1, max: 4 }) }),
      fc.record({
        op: fc.constantFrom(
          'requeue' as const,
          'fail' as const,
          'remove' as const,
          'deliver' as const,
        ),
        pick: fc.nat(),
      }),
      fc.record({ op: fc.constant('reopen' as const), backMs: fc.integer({ min: 0, max: 5000 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const { indexedDB } = factory();
        let s = indexedDbStore({ indexedDB });
        const live: StoredEntry[] = [];
        let highest = 0;
        let back = 0;
        const seen = (es: StoredEntry[]) => {
          for (const e of es) {
            expect(e.seq).toBeGreaterThan(highest);
            highest = e.seq;
          }
        };
        try {
          for (const o of ops) {
            if (o.op === 'append') {
              const added = await s.append(Array.from({ length: o.n }, () => newEntry()));
              seen(added);
              live.push(...added);
            } else if (o.op === 'reopen') {
              await s.close();
              back += o.backMs; // the clock only ever moves back here: the keys must not follow
              vi.restoreAllMocks();
              clockBack(back);
              s = indexedDbStore({ indexedDB });
            } else if (live.length > 0) {
              const e = live.splice(o.pick % live.length, 1)[0]!;
              if (o.op === 'requeue') {
                const moved = await s.update(e, { requeue: true });
                seen([moved]);
                live.push(moved);
              } else if (o.op === 'fail') {
                // a status change keeps the entry's place (and its key)
                live.push(
                  await s.update({ ...e, status: e.status === 'failed' ? 'pending' : 'failed' }),
                );
              } else if (o.op === 'remove') await s.remove(e.id);
              else await s.removeDelivered!(e.id, []);
            }
          }
        } finally {
          vi.restoreAllMocks();
          await s.close();
        }
      }),
      propertyParams(60),
    );
  });
});

describe('indexedDbStore: schema upgrade', () => {
  it('upgrades a v3 database (the previous release) without losing entries, meta or transcript; keys stay above the stored ones', async () => {
    const { indexedDB, connections } = factory();
    const v3 = await openRaw(indexedDB, 3, createV3);
    const t0 = 1_764_600_000_000_000; // keys as v3 wrote them: µs since the epoch
    const queued = (e: ReturnType<typeof newEntry>, seq: number) => ({
      ...e,
      seq,
      queueConversationId: e.conversationId,
    });
    const a = queued(newEntry({ conversationId: 'x', order: t0 + 1 }), t0 + 10);
    const failed = {
      ...newEntry({
        conversationId: 'y',
        status: 'failed' as const,
        lastError: { code: 'rejected' as const, message: 'no' },
      }),
      seq: t0 + 20,
    };
    const b = queued(newEntry({ conversationId: 'y', metadata: { k: 'v' } }), t0 + 30);
    const sending = queued(newEntry({ conversationId: 'x', status: 'sending' as const }), t0 + 40);
    await putRaw(v3, 'entries', [a, failed, b, sending]);
    await putRaw(v3, 'meta', ['tok'], 'session');
    await putRaw(v3, 'meta', [3], ['tn']);
    const lines = [
      {
        key: 'l1',
        conversationId: 'x',
        direction: 'Inbound',
        text: '1',
        time: 5,
        order: 900,
        n: 1,
      },
      {
        key: 'l2',
        conversationId: 'x',
        direction: 'Outbound',
        text: '2',
        time: 1,
        order: 950,
        n: 2,
      },
      {
        key: 'l3',
        conversationId: 'x',
        direction: 'Inbound',
        text: '3',
        time: 9,
        order: 800,
        n: 3,
      },
    ];
    await putRaw(v3, 'transcript', lines);
    v3.close();

    store = indexedDbStore({ indexedDB });
    const strip = ({ queueConversationId: _q, ...e }: Record<string, unknown>) => e;
    expect(await store.list()).toEqual([a, failed, b, sending].map(strip));
    expect(await store.heads()).toEqual([a, b].map(strip));
    expect(await store.getMeta('session')).toBe('tok');
    expect((await store.listTranscript('x')).map((l) => [l.key, l.order])).toEqual([
      ['l3', 800],
      ['l1', 900],
      ['l2', 950],
    ]);
    // The insertion counter goes on; a replaced line keeps its place.
    await store.putTranscript([
      { key: 'l1', conversationId: 'x', direction: 'Inbound', text: '1', time: 7, status: 'sent' },
      { key: 'l4', conversationId: 'x', direction: 'Inbound', text: '4', time: 2, order: 990 },
    ]);
    const raw = connections.at(-1)!; // the store's (the first one was v3's, closed)
    const stored = (await getAllRaw(raw, 'transcript')) as { key: string; n: number }[];
    expect(Object.fromEntries(stored.map((l) => [l.key, l.n]))).toEqual({
      l1: 1,
      l2: 2,
      l3: 3,
      l4: 4,
    });
    expect((await store.listTranscript('x')).map((l) => l.key)).toEqual(['l3', 'l1', 'l2', 'l4']);
    expect(indexNames(raw)).toEqual({
      entries: ['heads', 'ids'],
      meta: [],
      quarantine: [],
      transcript: ['byOrder'],
    });

    // Every stored entry goes away; the keys handed out later stay above them, clock or not.
    for (const e of [a, failed, b, sending]) await store.remove(e.id);
    await store.close();
    clockBack(Date.now() - t0 / 1000 + 60_000); // a wall clock before the stored keys
    store = indexedDbStore({ indexedDB });
    const [c] = await store.append([newEntry()]);
    expect(c!.seq).toBe(t0 + 41);
  });

  it('upgrades a v4 database: the `top` index goes, keys stay above its highest and above the mark it kept', async () => {
    for (const markAbove of [false, true]) {
      const { indexedDB, connections } = factory();
      const v4 = await openRaw(indexedDB, 4, (db) => {
        const entries = db.createObjectStore('entries', { keyPath: 'id' });
        entries.createIndex('heads', ['queueConversationId', 'seq']);
        entries.createIndex('top', 'top');
        db.createObjectStore('meta');
        db.createObjectStore('transcript', { keyPath: 'key' }).createIndex('byOrder', [
          'conversationId',
          'order',
          'time',
          'n',
        ]);
        db.createObjectStore('quarantine', { autoIncrement: true });
      });
      const t0 = 1_764_600_000_000_000;
      // A batch of two (its top on the second), then a failed single write: the highest key.
      const a = { ...newEntry({ conversationId: 'x' }), seq: t0 + 1, queueConversationId: 'x' };
      const b = {
        ...newEntry({ conversationId: 'x' }),
        seq: t0 + 2,
        top: t0 + 2,
        queueConversationId: 'x',
      };
      const f = {
        ...newEntry({ conversationId: 'y', status: 'failed' as const }),
        seq: t0 + 3,
        top: t0 + 3,
      };
      await putRaw(v4, 'entries', [a, b, f]);
      // The top of a removed entry, as v4 kept it.
      await putRaw(v4, 'meta', [markAbove ? t0 + 9 : t0], ['top']);
      await putRaw(v4, 'meta', ['tok'], 'session');
      v4.close();

      clockBack(Date.now() - t0 / 1000 + 60_000); // a wall clock before the stored keys
      store = indexedDbStore({ indexedDB });
      const plain = ({ queueConversationId: _q, top: _t, ...e }: Record<string, unknown>) => e;
      expect(await store.list()).toEqual([a, b, f].map(plain));
      expect(await store.heads()).toEqual([plain(a)]);
      expect(await store.getMeta('session')).toBe('tok');
      const raw = connections.at(-1)!;
      expect(raw.version).toBe(SCHEMA_VERSION);
      expect(indexNames(raw)['entries']).toEqual(['heads', 'ids']);
      await store.close();
      // f is in `heads` now (past every conversation); the removed key only in the mark.
      store = indexedDbStore({ indexedDB });
      const [c] = await store.append([newEntry({ conversationId: 'x' })]);
      expect(c!.seq).toBe(markAbove ? t0 + 10 : t0 + 4);
      await store.close();
      store = undefined;
      vi.restoreAllMocks();
    }
  });

  it('upgrades a v1 database without losing entries or meta; new entries go after the stored ones', async () => {
    const { indexedDB } = factory();
    const v1 = await openRaw(indexedDB, 1, (db) => {
      db.createObjectStore('entries', { keyPath: 'id' }).createIndex('seq', 'seq');
      db.createObjectStore('meta');
    });
    const a = { ...newEntry({ conversationId: 'x' }), seq: 3 };
    const failed = { ...newEntry({ conversationId: 'y', status: 'failed' as const }), seq: 4 };
    const b = { ...newEntry({ conversationId: 'y' }), seq: 5 };
    await putRaw(v1, 'entries', [a, failed, b]);
    await putRaw(v1, 'meta', ['tok'], 'session');
    v1.close();

    store = indexedDbStore({ indexedDB });
    expect(await store.list()).toEqual([a, failed, b]);
    expect(await store.heads()).toEqual([a, b]); // the heads index was backfilled
    expect(await store.getMeta('session')).toBe('tok');
    const [c] = await store.append([newEntry()]);
    expect(c!.seq).toBeGreaterThan(5);
    await store.putTranscript([
      { key: 'k', conversationId: 'x', direction: 'Inbound', text: 't', time: 1 },
    ]);
    expect((await store.listTranscript('x')).length).toBe(1);
  });

  it('upgrades a v2 transcript without losing a line: each keeps its place (order = time × 1000)', async () => {
    const { indexedDB } = factory();
    const v2 = await openRaw(indexedDB, 2, (db) => {
      const entries = db.createObjectStore('entries', { keyPath: 'id' });
      entries.createIndex('seq', 'seq');
      entries.createIndex('heads', ['queueConversationId', 'seq']);
      db.createObjectStore('meta');
      db.createObjectStore('transcript', { keyPath: 'key' }).createIndex('byTime', [
        'conversationId',
        'time',
        'n',
      ]);
      db.createObjectStore('quarantine', { autoIncrement: true });
    });
    const old = [
      { key: 'b', conversationId: 'x', direction: 'Outbound', text: 'b', time: 20, n: 2 },
      {
        key: 'a',
        conversationId: 'x',
        direction: 'Inbound',
        text: 'a',
        time: 10,
        n: 1,
        status: 'sent',
      },
      { key: 'c', conversationId: 'x', direction: 'Inbound', text: 'c', time: 20, n: 3 },
    ];
    await putRaw(v2, 'transcript', old);
    v2.close();
    store = indexedDbStore({ indexedDB });
    const lines = await store.listTranscript('x');
    expect(lines.map((l) => [l.key, l.order])).toEqual([
      ['a', 10_000],
      ['b', 20_000],
      ['c', 20_000],
    ]);
    expect(lines.map((l) => l.text)).toEqual(['a', 'b', 'c']);
  });
});

describe('indexedDbStore: transcript claims across tabs', () => {
  // The Open Messaging de-duplication (and `outbox.transcript.claim`): two tabs (two store
  // instances on one database) given the same key at once: exactly one of them writes it.
  it('two instances claiming the same keys at once: one winner per key, through the transcript writer', async () => {
    const { indexedDB } = factory();
    store = indexedDbStore({ indexedDB });
    const tabB = indexedDbStore({ indexedDB });
    const writer = (s: OutboxStore) =>
      transcriptLines(
        s,
        1000,
        'c1',
        () => {},
        () => {},
        orderOf,
      );
    const [a, b] = [writer(store), writer(tabB)];
    const keys = Array.from({ length: 20 }, (_, i) => `m${i}`);
    const pending = (key: string, tab: string): TranscriptRecord =>
      line(key, 10, { order: 1, text: tab, handoff: { state: 'pending', since: 100 } });
    const results = await Promise.all(
      keys.flatMap((k) => [a.claim(pending(k, 'A'), 50), b.claim(pending(k, 'B'), 50)]),
    );
    for (let i = 0; i < keys.length; i++) {
      const won = [results[2 * i], results[2 * i + 1]].filter((r) => r !== undefined);
      expect(won).toHaveLength(1);
      expect((await tabB.getTranscript(keys[i]!))?.text).toBe(won[0]!.text);
    }
    // a stale pending hand-off is taken over by one tab only, too (the taker's hand-off is new)
    const takeover = (tab: string): TranscriptRecord =>
      line('m0', 10, { text: tab, handoff: { state: 'pending', since: 300 } });
    const stale = await Promise.all([
      store.claimTranscript!(takeover('A2'), 101),
      tabB.claimTranscript!(takeover('B2'), 101),
    ]);
    expect(stale.filter(Boolean)).toHaveLength(1);
    await tabB.close();
  });
});
