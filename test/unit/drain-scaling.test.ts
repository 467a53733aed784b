// The drain's cost per delivery must not grow with the number of waiting conversations (issue
// 13): counted in store reads, never in time. And the in-memory heads it keeps for that must
// never lose, repeat or reorder anything (seeded random outcomes, user retries and discards).
import 'fake-indexeddb/auto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import type { NewEntry } from '../../src/outbox/entry.js';
import type { SendOutcome } from '../../src/transport/Transport.js';
import { memoryStore } from '../../src/store/memory.js';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import { silentLogger } from '../../src/internal/logger.js';
import { FakeClock } from '../helpers/fakeClock.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
import { waitFor } from '../helpers/waitFor.js';

const retry = { baseDelayMs: 100, maxDelayMs: 1000, maxAttempts: 4, maxAgeMs: 3_600_000 };

function seeded(seed: number): (n: number) => number {
  let x = seed | 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

const entry = (i: number, conversations: number, now: number): NewEntry => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  conversationId: `conv-${i % conversations}`,
  text: `m${i}`,
  metadata: { n: String(i) },
  status: 'pending',
  attempts: 0,
  createdAt: now,
});

/** Counts what the dispatcher reads: whole heads() reads, the entries they return, headOf reads. */
function counting(store: OutboxStore) {
  const counts = { heads: 0, headsEntries: 0, headOf: 0, headsAfterHeadOf: 0 };
  const wrapped: OutboxStore = Object.create(store) as OutboxStore;
  wrapped.heads = async (limit) => {
    const r = await store.heads(limit);
    counts.heads++;
    counts.headsEntries += r.length;
    if (counts.headOf > 0) counts.headsAfterHeadOf++;
    return r;
  };
  if (store.headOf) {
    const headOf = store.headOf.bind(store);
    wrapped.headOf = async (c) => {
      counts.headOf++;
      return headOf(c);
    };
  }
  return { store: wrapped, counts };
}

type Make = () => Promise<{ store: OutboxStore; cleanup: () => Promise<void> }>;
const stores: [string, Make][] = [
  ['memory', async () => ({ store: memoryStore(), cleanup: async () => {} })],
  [
    'indexedDb',
    async () => ({
      store: indexedDbStore({ indexedDB: new IDBFactory() }),
      cleanup: async () => {},
    }),
  ],
  [
    'sqlite',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'outbox-scale-'));
      return {
        store: sqliteStore({ path: join(dir, 'o.db') }),
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  ],
];

describe.each(stores)('drain over many conversations: %s', (_name, make) => {
  it('reads the store whole once, then one conversation per settled attempt', async () => {
    const { store: raw, cleanup } = await make();
    const N = 300;
    await raw.open();
    await raw.append(Array.from({ length: N }, (_, i) => entry(i, N, Date.now())));
    const { store, counts } = counting(raw);
    const transport = new ScriptedTransport();
    const outbox = await createOutbox({
      transport,
      store,
      coordinator: false,
      logger: silentLogger,
    });
    await waitFor(() => transport.delivered.length === N, { what: 'all delivered' });
    await outbox.close();
    await cleanup();
    // Before: every pass read every remaining head (a heads() read per settled attempt, ~N²/2
    // entries), and headOf was never used. Now: whole reads only until the head book is loaded
    // (a dynamic import), then headOf per settled attempt.
    expect(counts.headOf).toBeGreaterThan(0);
    // How many whole reads run before the lazy chunk is loaded depends on the machine's load; once
    // the dispatcher reads by headOf, at most the pass already under way and the book's own fill.
    expect(counts.headsAfterHeadOf).toBeLessThanOrEqual(2);
    expect(counts.headOf).toBeLessThanOrEqual(N + 10);
  });

  it.each([
    [1, 12],
    [2, 12],
    [3, 120],
    [4, 120],
  ])(
    'seed %i, %i conversations: random outcomes, retries and discards: every entry once, in order, none left behind',
    async (seed, conversations) => {
      const { store: raw, cleanup } = await make();
      const { store, counts } = counting(raw);
      const rand = seeded(seed * 7919);
      const clock = new FakeClock();
      const script = (): SendOutcome => {
        const r = rand(10);
        if (r < 6) return { kind: 'delivered' };
        if (r < 8) return { kind: 'retry', error: { code: 'server-error', message: '503' } };
        if (r < 9) return { kind: 'rejected', error: { code: 'rejected', message: '400' } };
        return {
          kind: 'rate-limited',
          retryAfterMs: 300,
          error: { code: 'rate-limited', message: '429' },
        };
      };
      const transport = new ScriptedTransport(script, 3);
      const outbox = await createOutbox({
        transport,
        store,
        clock,
        random: () => 0.5,
        retry,
        coordinator: false,
        logger: silentLogger,
      });
      const sent: string[] = [];
      const discarded = new Set<string>();
      const retried = new Set<string>();
      const perRound = conversations > 32 ? 40 : 10;
      for (let round = 0; round < 8; round++) {
        for (let i = 0; i < perRound; i++) {
          const e = await outbox.send({
            text: `r${round}-${i}`,
            conversationId: `conv-${rand(conversations)}`,
          });
          sent.push(e.id);
        }
        // Now and then: retry a failed entry, discard a queued one.
        const list = await outbox.list();
        const failed = list.find((e) => e.status === 'failed' && !retried.has(e.id));
        if (failed) {
          retried.add(failed.id);
          await outbox.retry(failed.id);
        }
        const queued = list.find((e) => e.status === 'pending');
        if (queued && rand(2) === 0) {
          discarded.add(queued.id);
          await outbox.discard(queued.id).catch(() => discarded.delete(queued.id));
        }
        await new Promise((r) => setTimeout(r, 1));
        clock.advance(rand(400));
      }
      // Let time run until nothing is queued: only timers the outbox armed move it.
      await waitFor(
        async () => {
          const queued = (await outbox.list()).filter(
            (e) => e.status === 'pending' || e.status === 'sending',
          );
          if (queued.length === 0) return true;
          const at = clock.nextTimerAt();
          if (at !== undefined) clock.advance(Math.max(0, at - clock.now()));
          return false;
        },
        { what: 'nothing queued', timeoutMs: 20_000 },
      );
      const left = await outbox.list();
      await outbox.close();
      await cleanup();

      const deliveredIds = transport.delivered.map((e) => e.id);
      expect(new Set(deliveredIds).size).toBe(deliveredIds.length); // once
      const leftIds = new Set(left.map((e) => e.id));
      for (const id of sent) {
        // each entry: delivered, or still stored as failed, or discarded by the test
        const fates = [deliveredIds.includes(id), leftIds.has(id), discarded.has(id)];
        expect(fates.filter(Boolean).length, id).toBeGreaterThanOrEqual(1);
      }
      expect(left.every((e) => e.status === 'failed')).toBe(true);
      // FIFO per conversation, among entries the user did not retry (a retry goes to the back)
      const order = new Map(sent.map((id, i) => [id, i]));
      const lastByConv = new Map<string, number>();
      for (const e of transport.delivered) {
        if (retried.has(e.id)) continue;
        const i = order.get(e.id)!;
        expect(i, `${e.conversationId} out of order`).toBeGreaterThan(
          lastByConv.get(e.conversationId) ?? -1,
        );
        lastByConv.set(e.conversationId, i);
      }
      expect(transport.maxInFlightPerConversation).toBe(1);
      // Many conversations: the dispatcher switched to the heads in memory (it reads by headOf).
      if (conversations > 32) expect(counts.headOf).toBeGreaterThan(0);
    },
  );
});
