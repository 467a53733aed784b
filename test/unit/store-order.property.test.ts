// Order keys follow call order, always (issue 10, defect 1): appends and requeues issued without
// awaiting, from one store instance or from two on one database (two tabs), get `seq` in the
// order each instance was called, whatever the interleaving of microtasks and macrotasks.
import 'fake-indexeddb/auto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import { memoryStore } from '../../src/store/memory.js';
import { encryptedStore } from '../../src/store/encryptedStore.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import type { StoredEntry } from '../../src/outbox/entry.js';
import { propertyParams } from '../helpers/property.js';
import { newEntry } from './store-contract.js';

type Wait = 'none' | 'micro' | 'micro3' | 'macro';
interface Step {
  /** Which instance (tab) is called. */
  tab: 0 | 1;
  wait: Wait;
  /** Entries in the append (group commit), or 0 for a requeue of an earlier entry. */
  size: number;
}

const stepArb = (tabs: 1 | 2): fc.Arbitrary<Step> =>
  fc.record({
    tab: tabs === 1 ? fc.constant(0 as const) : fc.constantFrom(0 as const, 1 as const),
    wait: fc.constantFrom<Wait>('none', 'none', 'micro', 'micro3', 'macro'),
    size: fc.integer({ min: 0, max: 3 }),
  });

const pause = async (w: Wait): Promise<void> => {
  if (w === 'micro') await Promise.resolve();
  if (w === 'micro3') for (let i = 0; i < 3; i++) await Promise.resolve();
  if (w === 'macro') await new Promise((r) => setTimeout(r, 0));
};

interface World {
  /** A fresh instance on the shared database (a tab that just opened). */
  instance(): OutboxStore;
  cleanup(): Promise<void>;
}

/**
 * Runs `steps` without awaiting any store call; checks that, per instance, the seqs come out in
 * call order. `preexisting` entries are written (and awaited) by an earlier instance first, so
 * the new instances start with an unknown highest seq (the path that used to reorder).
 */
async function runOrder(world: World, tabs: 1 | 2, preexisting: number, steps: Step[]) {
  const seed = world.instance();
  const old =
    preexisting > 0 ? await seed.append(Array.from({ length: preexisting }, () => newEntry())) : [];
  await seed.close();
  const instances = [world.instance(), world.instance()].slice(0, tabs);
  const calls: { tab: number; p: Promise<StoredEntry[]> }[] = [];
  let requeueable = [...old];
  for (const s of steps) {
    await pause(s.wait);
    const store = instances[s.tab] as OutboxStore;
    if (s.size === 0) {
      const e = requeueable.shift();
      if (e === undefined) continue;
      calls.push({ tab: s.tab, p: store.update(e, { requeue: true }).then((x) => [x]) });
    } else {
      const batch = Array.from({ length: s.size }, () => newEntry());
      calls.push({ tab: s.tab, p: store.append(batch) });
    }
  }
  const results = await Promise.all(calls.map((c) => c.p));
  requeueable = [];
  for (let tab = 0; tab < tabs; tab++) {
    const seqs = results
      .filter((_, i) => calls[i]?.tab === tab)
      .flatMap((r) => r.map((e) => e.seq));
    const sorted = [...seqs].sort((a, b) => a - b);
    expect(seqs).toEqual(sorted);
    expect(new Set(seqs).size).toBe(seqs.length);
    // Above everything stored before this instance opened.
    for (const s of seqs) for (const o of old) expect(s).toBeGreaterThan(o.seq);
  }
  // What is stored is what the calls returned.
  const stored = await (instances[0] as OutboxStore).list();
  const bySeq = new Map(stored.map((e) => [e.id, e.seq]));
  for (const r of results) for (const e of r) expect(bySeq.get(e.id)).toBe(e.seq);
  await Promise.all(instances.map((s) => s.close()));
}

/** name, world, has two tabs, runs in `npm test` */
const worlds: [string, (() => Promise<World>) | undefined, boolean, number][] = [
  [
    'indexedDb',
    async () => {
      const indexedDB = new IDBFactory();
      return { instance: () => indexedDbStore({ indexedDB }), cleanup: async () => {} };
    },
    true,
    40,
  ],
  [
    'sqlite',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'outbox-order-'));
      return {
        instance: () => sqliteStore({ path: join(dir, 'o.db') }),
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
    true,
    20,
  ],
  [
    // The encryption wrapper seals before it calls the store: it must still call in order.
    'encrypted(indexedDb)',
    async () => {
      const indexedDB = new IDBFactory();
      const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
        'encrypt',
        'decrypt',
      ]);
      return {
        instance: () => encryptedStore(indexedDbStore({ indexedDB }), { key }),
        cleanup: async () => {},
      };
    },
    true,
    40,
  ],
  [
    'memory',
    async () => {
      // One instance is one world: a memory store cannot be shared; the "second tab" is itself.
      const s = memoryStore();
      const shared: OutboxStore = { ...s, close: async () => {} };
      return { instance: () => shared, cleanup: () => s.close() };
    },
    false,
    40,
  ],
];

describe('order keys follow call order (property)', () => {
  for (const [name, make, twoTabs, runs] of worlds) {
    it(`${name}: one instance, appends and requeues issued without awaiting`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 3 }),
          fc.array(stepArb(1), { minLength: 2, maxLength: 14 }),
          async (pre, steps) => {
            const world = await make!();
            try {
              await runOrder(world, 1, pre, steps);
            } finally {
              await world.cleanup();
            }
          },
        ),
        propertyParams(runs),
      );
    }, 60_000);
    if (twoTabs) {
      it(`${name}: two instances on one database (two tabs)`, async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 0, max: 3 }),
            fc.array(stepArb(2), { minLength: 2, maxLength: 14 }),
            async (pre, steps) => {
              const world = await make!();
              try {
                await runOrder(world, 2, pre, steps);
              } finally {
                await world.cleanup();
              }
            },
          ),
          propertyParams(runs),
        );
      }, 60_000);
    }
  }

  // The encryption wrapper reuses the ciphertext of an entry it has read (no sealing to wait
  // for): a requeue of such an entry, issued after an append that is still being sealed, must
  // not reach the store first.
  it('regression: encrypted, an append still sealing is not overtaken by a requeue of a read entry', async () => {
    const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
      'encrypt',
      'decrypt',
    ]);
    const store = encryptedStore(indexedDbStore({ indexedDB: new IDBFactory() }), { key });
    await store.open();
    const [a] = await store.append([newEntry({ text: 'a' })]);
    const read = (await store.get(a!.id))!;
    const appended = store.append([newEntry({ text: 'x'.repeat(3000) })]).then((x) => x[0]!);
    const requeued = store.update(read, { requeue: true });
    const [first, second] = await Promise.all([appended, requeued]);
    expect(first.seq).toBeLessThan(second.seq);
    await store.close();
  });

  // The shrunk counterexample of the property above on the old IndexedDB code (seed 20260602):
  // a requeue issued first was still reading the highest stored seq when the next requeue and
  // an append were issued; those took the fast path and got keys below the first one's.
  it('regression: indexedDb, requeue, requeue, append issued without awaiting on a fresh instance', async () => {
    const indexedDB = new IDBFactory();
    const first = indexedDbStore({ indexedDB });
    const [a, b] = await first.append([newEntry({ text: 'a' }), newEntry({ text: 'b' })]);
    await first.close();
    const store = indexedDbStore({ indexedDB });
    const calls: Promise<StoredEntry>[] = [store.update(a!, { requeue: true })];
    await new Promise((r) => setTimeout(r, 0));
    calls.push(store.update(b!, { requeue: true }));
    calls.push(store.append([newEntry({ text: 'c' })]).then((x) => x[0]!));
    const seqs = (await Promise.all(calls)).map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect((await store.list()).map((e) => e.text)).toEqual(['a', 'b', 'c']);
    await store.close();
  });

  // Shrunk from the sqlite property on the old code: a call issued a few microtasks after the
  // first, while the connection was being opened, opened a second connection; the two locked
  // each other out (SQLITE_BUSY after the 5 s busy_timeout, the event loop frozen meanwhile).
  it('regression: sqlite, calls issued one microtask apart while the store opens share one connection', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outbox-order-'));
    const Database = (await import('better-sqlite3')).default;
    let opened = 0;
    const Counting = function (this: unknown, path: string) {
      opened++;
      return new Database(path);
    } as unknown as typeof Database;
    const store = sqliteStore({ path: join(dir, 'o.db'), database: Counting });
    try {
      const calls: Promise<StoredEntry[]>[] = [];
      for (let i = 0; i < 10; i++) {
        calls.push(store.append([newEntry({ text: `m${i}` })]));
        await Promise.resolve();
      }
      const seqs = (await Promise.all(calls)).flat().map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(opened).toBe(1);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
