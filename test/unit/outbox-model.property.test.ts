// Model-based property test of the outbox (issue 10, "Build the proof"): random programs of
// sends (awaited and bursts), retry, discard, flush, restarts (a new outbox on the same data,
// the old one never closed: a crashed process), connectivity flips and scripted transport
// outcomes (delivered, retry, offline, rate-limited with Retry-After, re-auth, rejected,
// in-doubt, commit-then-drop), over the memory, SQLite and IndexedDB stores, checked against a
// small reference model:
// - no attempt of a message after an attempt of it was answered delivered (delivered once);
// - at most one attempt in flight per conversation, and per conversation messages reach the
//   server in the order they were sent (among those never failed);
// - at the end every committed message was delivered, or is in list() as failed, or was
//   discarded by the program: nothing lost, nothing deleted without discard;
// - list() agrees with a fresh read of the store, and the last status event of every entry
//   still listed is its listed status.
// `npm test` runs a fixed seed and a few runs; PROPERTY_RUNS / PROPERTY_SEED run more.
import 'fake-indexeddb/auto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createOutbox, type Outbox } from '../../src/outbox/createOutbox.js';
import type { OutboxEvent } from '../../src/outbox/events.js';
import type { Connectivity } from '../../src/connectivity/Connectivity.js';
import { OutboxError } from '../../src/errors/OutboxError.js';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import { memoryStore } from '../../src/store/memory.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import type { SendOutcome } from '../../src/transport/Transport.js';
import { silentLogger } from '../../src/internal/logger.js';
import { FakeClock } from '../helpers/fakeClock.js';
import { GatedTransport } from '../helpers/gatedTransport.js';
import { propertyParams } from '../helpers/property.js';

type Answer =
  | 'delivered'
  | 'retry'
  | 'offline'
  | 'rate-limited'
  | 'reauth'
  | 'rejected'
  | 'in-doubt'
  | 'commit-then-drop';

export type Op =
  | { op: 'send'; conv: number }
  | { op: 'burst'; conv: number; n: number }
  | { op: 'answer'; pick: number; answer: Answer; retryAfterMs: number }
  | { op: 'retry'; pick: number }
  | { op: 'discard'; pick: number }
  | { op: 'flush' }
  | { op: 'restart'; reachedServer: boolean }
  | { op: 'online'; online: boolean }
  | { op: 'advance'; ms: number };

const answers: Answer[] = [
  'delivered',
  'delivered',
  'delivered',
  'retry',
  'offline',
  'rate-limited',
  'reauth',
  'rejected',
  'in-doubt',
  'commit-then-drop',
];

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('send' as const), conv: fc.nat(2) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('burst' as const),
      conv: fc.nat(2),
      n: fc.integer({ min: 2, max: 4 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('answer' as const),
      pick: fc.nat(3),
      answer: fc.constantFrom(...answers),
      retryAfterMs: fc.integer({ min: 0, max: 3000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('retry' as const), pick: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('discard' as const), pick: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('restart' as const), reachedServer: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('online' as const), online: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('advance' as const),
      ms: fc.integer({ min: 1, max: 8000 }),
    }),
  },
);

/** A connectivity the program flips. */
class Switch implements Connectivity {
  online = true;
  private listeners = new Set<(online: boolean) => void>();
  isOnline(): boolean {
    return this.online;
  }
  subscribe(l: (online: boolean) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  set(online: boolean): void {
    this.online = online;
    for (const l of this.listeners) l(online);
  }
}

/**
 * The store as one process sees it: `kill()` makes every later call of that process reject (it
 * died), while the data stays for the next process. Writes already committed stay committed.
 */
function processView(store: OutboxStore): { store: OutboxStore; raw: OutboxStore; kill(): void } {
  let dead = false;
  const view: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(store)) {
    if (typeof v !== 'function') continue;
    view[k] =
      k === 'coordinator'
        ? v
        : (...args: unknown[]) =>
            dead
              ? Promise.reject(new OutboxError('closed', 'this process died'))
              : (v as (...a: unknown[]) => Promise<unknown>).apply(store, args);
  }
  return { store: view as unknown as OutboxStore, raw: store, kill: () => (dead = true) };
}

interface World {
  /** A store instance on the program's data (each process opens its own). */
  store(): OutboxStore;
  /** Release a dead process's instance (it is never called again). */
  release(store: OutboxStore): Promise<void>;
  cleanup(): Promise<void>;
  /** Use the store's own coordinator (SQLite lease) instead of `coordinator: false`. */
  lease: boolean;
}

export const worlds: [string, () => Promise<World>, number][] = [
  [
    'memory',
    async () => {
      const s = memoryStore();
      return {
        store: () => ({ ...s, close: async () => {} }),
        release: async () => {},
        cleanup: () => s.close(),
        lease: false,
      };
    },
    15,
  ],
  [
    'indexedDb',
    async () => {
      const indexedDB = new IDBFactory();
      return {
        store: () => indexedDbStore({ indexedDB }),
        release: (s) => s.close(),
        cleanup: async () => {},
        lease: false,
      };
    },
    8,
  ],
  [
    'sqlite',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'outbox-model-'));
      return {
        store: () => sqliteStore({ path: join(dir, 'o.db') }),
        release: (s) => s.close(),
        cleanup: () => rm(dir, { recursive: true, force: true }),
        lease: true,
      };
    },
    8,
  ],
];

const settle = async (): Promise<void> => {
  for (let i = 0; i < 6; i++) await new Promise((r) => setTimeout(r, 0));
};

const retryPolicy = { baseDelayMs: 100, maxDelayMs: 2000, maxAttempts: 4, maxAgeMs: 1e12 };

function outcome(a: Answer, retryAfterMs: number): SendOutcome {
  switch (a) {
    case 'delivered':
      return { kind: 'delivered' };
    case 'retry':
      return { kind: 'retry', error: { code: 'server-error', message: '503' } };
    case 'offline':
      return { kind: 'offline', error: { code: 'network', message: 'unreachable' } };
    case 'rate-limited':
      return {
        kind: 'rate-limited',
        retryAfterMs,
        error: { code: 'rate-limited', message: '429' },
      };
    case 'reauth':
      return { kind: 'reauth', error: { code: 'auth-failed', message: '401' } };
    case 'rejected':
      return { kind: 'rejected', error: { code: 'rejected', message: '400' } };
    case 'in-doubt':
      return { kind: 'retry', error: { code: 'in-doubt', message: 'no answer' } };
    case 'commit-then-drop':
      return { kind: 'retry', error: { code: 'network', message: 'dropped after commit' } };
  }
}

export async function runModel(world: World, ops: readonly Op[]): Promise<void> {
  let clock = new FakeClock();
  // One per process: a dead process hears nothing any more.
  let connectivity = new Switch();
  let transport = new GatedTransport();
  let view = processView(world.store());
  const events: OutboxEvent[] = [];
  const open = async (): Promise<Outbox> => {
    const o = await createOutbox({
      transport,
      store: view.store,
      clock,
      connectivity,
      random: () => 0.5,
      logger: silentLogger,
      retry: retryPolicy,
      ...(world.lease ? {} : { coordinator: false as const }),
    });
    o.subscribe((e) => events.push(e));
    return o;
  };
  let outbox = await open();

  // The reference model.
  const sendOrder: string[][] = [[], [], []]; // per conversation, in call order
  const committed = new Set<string>();
  const convOf = new Map<string, number>();
  const answeredDelivered = new Set<string>();
  const atServer: string[] = []; // ids in the order the server first got them
  const failedOnce = new Set<string>(); // ever failed, retried or discarded: left out of the order check
  const discarded = new Set<string>();
  let attemptsSeen = 0;

  const serverGot = (id: string) => {
    if (!atServer.includes(id)) atServer.push(id);
  };
  /** Checks every attempt started since the last look. */
  const watchAttempts = () => {
    for (; attemptsSeen < transport.attempts.length; attemptsSeen++) {
      const a = transport.attempts[attemptsSeen]!;
      expect(answeredDelivered.has(a.id), `attempt of ${a.text} after it was delivered`).toBe(
        false,
      );
    }
    const convs = transport.held.map((h) => h.entry.conversationId);
    expect(new Set(convs).size, 'two attempts in flight in one conversation').toBe(convs.length);
  };
  const listed = async () => outbox.list().catch(() => []);

  const sendOne = (conv: number, text: string) => {
    const p = outbox.send({ conversationId: `c${conv}`, text });
    return p.then(
      (e) => {
        committed.add(e.id);
        convOf.set(e.id, conv);
        return e.id;
      },
      () => undefined, // a rejected send stored nothing (checked: it is never listed)
    );
  };

  let n = 0;
  for (const o of ops) {
    switch (o.op) {
      case 'send': {
        const id = await sendOne(o.conv, `m${n++}`);
        if (id) sendOrder[o.conv]!.push(id);
        break;
      }
      case 'burst': {
        const ps = Array.from({ length: o.n }, () => sendOne(o.conv, `m${n++}`));
        for (const id of await Promise.all(ps)) if (id) sendOrder[o.conv]!.push(id);
        break;
      }
      case 'answer': {
        const h = transport.held[o.pick % Math.max(1, transport.held.length)];
        if (!h) break;
        if (o.answer === 'delivered') {
          answeredDelivered.add(h.entry.id);
          serverGot(h.entry.id);
        }
        if (o.answer === 'commit-then-drop') serverGot(h.entry.id);
        if (o.answer === 'rejected') failedOnce.add(h.entry.id);
        h.answer(outcome(o.answer, o.retryAfterMs));
        break;
      }
      case 'retry':
      case 'discard': {
        const entries = await listed();
        const pool = o.op === 'retry' ? entries.filter((x) => x.status === 'failed') : entries;
        const e = pool[o.pick % Math.max(1, pool.length)];
        if (!e) break;
        failedOnce.add(e.id);
        if (o.op === 'retry') await outbox.retry(e.id).catch(() => {});
        else {
          await outbox.discard(e.id).then(
            () => discarded.add(e.id),
            () => {},
          );
        }
        break;
      }
      case 'flush':
        void outbox.flush().catch(() => {});
        break;
      case 'restart': {
        // The process dies: its attempts never answer, its store calls fail from now on.
        if (o.reachedServer && transport.held[0]) serverGot(transport.held[0].entry.id);
        view.kill();
        const dead = view;
        await settle();
        await world.release(dead.raw);
        // A delivery answered but not yet recorded when the process died is sent again by the
        // next one (at least once: the idempotency key makes it harmless).
        const survivor = world.store();
        for (const e of await survivor.list()) answeredDelivered.delete(e.id);
        await world.release(survivor);
        clock = new FakeClock(clock.now());
        const online = connectivity.online;
        connectivity = new Switch();
        connectivity.online = online;
        transport = new GatedTransport();
        attemptsSeen = 0;
        view = processView(world.store());
        outbox = await open();
        break;
      }
      case 'online':
        connectivity.set(o.online);
        break;
      case 'advance':
        clock.advance(o.ms);
        break;
    }
    await settle();
    watchAttempts();
  }

  // Drain: online, every attempt delivered, time moves on until nothing is pending.
  connectivity.set(true);
  for (let round = 0; round < 200; round++) {
    for (const h of [...transport.held]) {
      answeredDelivered.add(h.entry.id);
      serverGot(h.entry.id);
      h.answer({ kind: 'delivered' });
    }
    await settle();
    watchAttempts();
    const pending = (await listed()).filter((e) => e.status !== 'failed');
    if (pending.length === 0 && transport.held.length === 0) break;
    clock.advance(3000);
  }
  const final = await outbox.list();
  expect(
    final.filter((e) => e.status !== 'failed'),
    'still pending after the drain',
  ).toEqual([]);

  // Nothing lost: delivered, failed and visible, or discarded.
  const failed = new Set(final.map((e) => e.id));
  for (const id of committed) {
    const ok = atServer.includes(id) || failed.has(id) || discarded.has(id);
    expect(ok, `message ${id} lost`).toBe(true);
  }
  // Nothing listed that was not committed (a rejected send stored nothing), nothing delivered
  // that is still listed.
  for (const e of final) {
    expect(committed.has(e.id), `${e.text} listed but never committed`).toBe(true);
    expect(answeredDelivered.has(e.id), `${e.text} delivered but still listed`).toBe(false);
    // The last status event anyone heard for it is the status listed.
    const last = [...events].reverse().find((ev) => ev.type === 'status' && ev.entry.id === e.id);
    expect(last?.type === 'status' ? last.entry.status : 'no event', `${e.text}: events`).toBe(
      e.status,
    );
  }
  // Per conversation, the server got them in send order (those never failed nor touched).
  for (let c = 0; c < 3; c++) {
    const expected = sendOrder[c]!.filter((id) => !failedOnce.has(id) && atServer.includes(id));
    const got = atServer.filter((id) => convOf.get(id) === c && !failedOnce.has(id));
    expect(got, `conversation c${c} out of order`).toEqual(expected);
  }
  // list() agrees with the store, and with the events of this process.
  const fresh = world.store();
  const stored = await fresh.list();
  await world.release(fresh);
  expect(stored.map((e) => [e.id, e.status])).toEqual(final.map((e) => [e.id, e.status]));
  await outbox.close();
}

describe('outbox against a reference model (property)', () => {
  for (const [name, make, runs] of worlds) {
    it(`${name}: delivered once, in order, nothing lost, list() true`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
          const world = await make();
          try {
            await runModel(world, ops);
          } finally {
            await world.cleanup();
          }
        }),
        propertyParams(runs),
      );
    }, 300_000);
  }
});
