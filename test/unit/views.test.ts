// The framework-neutral views (outboxEntries, outboxTranscript, outboxConnectivity) and the React
// hooks on them: snapshots equal what the outbox reads, keep their reference until something
// shown changed, never read twice at once, and cost nothing while no one listens.
import fc from 'fast-check';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import type { Outbox } from '../../src/outbox/createOutbox.js';
import type { OutboxEntry } from '../../src/outbox/entry.js';
import type { OutboxEvent } from '../../src/outbox/events.js';
import {
  outboxConnectivity,
  outboxEntries,
  outboxTranscript,
  type ExternalStore,
  type ViewableOutbox,
} from '../../src/outbox/views.js';
import { useConnectivity, useOutboxEntries, useTranscript } from '../../src/react/index.js';
import type { Connectivity } from '../../src/connectivity/Connectivity.js';
import { memoryStore } from '../../src/store/memory.js';
import { silentLogger } from '../../src/internal/logger.js';
import { FakeClock } from '../helpers/fakeClock.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
import { waitFor } from '../helpers/waitFor.js';

const retry = { baseDelayMs: 100, maxDelayMs: 1000, maxAttempts: 5, maxAgeMs: 600_000 };

/** A connectivity the test switches. */
function switchable(initial = true): Connectivity & { set(online: boolean): void } {
  let online = initial;
  const listeners = new Set<(online: boolean) => void>();
  return {
    isOnline: () => online,
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    set(value) {
      online = value;
      for (const l of [...listeners]) l(value);
    },
  };
}

/** The outbox, wrapped to count list() reads (and how many run at once) and subscriptions. */
function counted(outbox: Outbox) {
  const stats = { reads: 0, inFlight: 0, maxInFlight: 0, subscribed: 0 };
  const track = async <T>(p: () => Promise<T>): Promise<T> => {
    stats.reads += 1;
    stats.inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    try {
      return await p();
    } finally {
      stats.inFlight -= 1;
    }
  };
  const view: ViewableOutbox = {
    list: () => track(() => outbox.list()),
    subscribe: (l: (e: OutboxEvent) => void) => {
      stats.subscribed += 1;
      const stop = outbox.subscribe(l);
      return () => {
        stats.subscribed -= 1;
        stop();
      };
    },
    transcript: { list: (id?: string) => track(() => outbox.transcript.list(id)) },
    get online() {
      return outbox.online;
    },
  };
  return { view, stats };
}

/** Records every snapshot a subscriber is told about. */
function record<T>(store: ExternalStore<T>) {
  const seen: T[] = [];
  const stop = store.subscribe(() => seen.push(store.getSnapshot()));
  return { seen, stop };
}

const shape = (entries: readonly OutboxEntry[]) =>
  entries.map((e) => ({ id: e.id, status: e.status, attempts: e.attempts }));

async function make(transport: ScriptedTransport, connectivity?: Connectivity) {
  const clock = new FakeClock();
  const outbox = await createOutbox({
    transport,
    store: memoryStore(),
    clock,
    random: () => 1,
    retry,
    coordinator: false,
    logger: silentLogger,
    ...(connectivity ? { connectivity } : {}),
  });
  return { outbox, clock };
}

describe('outboxEntries', () => {
  it('costs nothing while no one listens: no subscription, no read', async () => {
    const { outbox } = await make(new ScriptedTransport());
    const { view, stats } = counted(outbox);
    const store = outboxEntries(view);
    expect(store.getSnapshot()).toEqual([]);
    await outbox.send({ text: 'a' });
    expect(stats).toMatchObject({ reads: 0, subscribed: 0 });
    const { stop } = record(store);
    expect(stats.subscribed).toBe(1);
    stop();
    expect(stats.subscribed).toBe(0);
    await outbox.close();
  });

  it('one store per outbox, and getSnapshot returns the same array until a change', async () => {
    const t = new ScriptedTransport(() => ({
      kind: 'retry',
      error: { code: 'server-error', message: 'x' },
    }));
    const { outbox } = await make(t);
    expect(outboxEntries(outbox)).toBe(outboxEntries(outbox));
    const store = outboxEntries(outbox);
    const { seen, stop } = record(store);
    const entry = await outbox.send({ text: 'stays pending' });
    await waitFor(() => store.getSnapshot().length === 1 && t.calls.length >= 1);
    await waitFor(() => store.getSnapshot()[0]?.attempts === 1);
    const snap = store.getSnapshot();
    expect(store.getSnapshot()).toBe(snap);
    expect(Object.isFrozen(snap)).toBe(true);
    expect(snap[0]?.id).toBe(entry.id);
    // every notification carried a different snapshot
    for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
    stop();
    await outbox.close();
  });

  it('an event that changes nothing shown notifies no one and keeps the snapshot', async () => {
    const listeners = new Set<(e: OutboxEvent) => void>();
    let rows: OutboxEntry[] = [
      { id: 'x', conversationId: 'c', text: 't', status: 'pending', attempts: 0, createdAt: 1 },
    ];
    const fake: ViewableOutbox = {
      list: async () => rows.map((r) => ({ ...r })), // fresh objects, same content
      subscribe: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      transcript: { list: async () => [] },
      online: true,
    };
    const store = outboxEntries(fake);
    const { seen, stop } = record(store);
    await waitFor(() => seen.length === 1);
    const first = store.getSnapshot();
    const event: OutboxEvent = { type: 'status', entry: rows[0]! };
    for (const l of listeners) l(event);
    await new Promise((r) => setTimeout(r, 20));
    for (const l of listeners) l(event);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toHaveLength(1);
    expect(store.getSnapshot()).toBe(first);
    rows = [{ ...rows[0]!, status: 'sending' }];
    for (const l of listeners) l(event);
    await waitFor(() => seen.length === 2);
    expect(store.getSnapshot()[0]?.status).toBe('sending');
    stop();
  });

  it('rows that did not change keep their object when another row changes', async () => {
    const t = new ScriptedTransport((e) =>
      e.text === 'bad'
        ? { kind: 'rejected', error: { code: 'rejected', message: 'no' } }
        : { kind: 'retry', error: { code: 'server-error', message: 'x' } },
    );
    const { outbox } = await make(t, switchable(false));
    const store = outboxEntries(outbox);
    const { stop } = record(store);
    await outbox.send({ text: 'first', conversationId: 'a' });
    await outbox.send({ text: 'bad', conversationId: 'b' });
    await waitFor(() => store.getSnapshot().length === 2);
    const [first] = store.getSnapshot();
    await outbox.discard(store.getSnapshot()[1]!.id);
    await waitFor(() => store.getSnapshot().length === 1);
    expect(store.getSnapshot()[0]).toBe(first);
    stop();
    await outbox.close();
  });

  it('property: after any run of sends, failures, retries and discards, the snapshot is outbox.list(), with one read at a time and no notification without a change', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('send' as const),
              conv: fc.constantFrom('a', 'b', 'c'),
              outcome: fc.constantFrom('delivered', 'rejected', 'retry'),
            }),
            fc.record({
              op: fc.constantFrom('retry' as const, 'discard' as const),
              pick: fc.nat(20),
            }),
            fc.record({ op: fc.constant('tick' as const) }),
          ),
          { minLength: 1, maxLength: 25 },
        ),
        async (ops) => {
          const outcomes = new Map<string, string>();
          const t = new ScriptedTransport((e, n) => {
            const kind = n > 1 ? 'delivered' : (outcomes.get(e.text) ?? 'delivered');
            if (kind === 'rejected') return { kind, error: { code: 'rejected', message: 'no' } };
            if (kind === 'retry') return { kind, error: { code: 'server-error', message: 'x' } };
            return { kind: 'delivered' };
          });
          const { outbox, clock } = await make(t);
          const { view, stats } = counted(outbox);
          const store = outboxEntries(view);
          const { seen, stop } = record(store);
          let n = 0;
          for (const op of ops) {
            if (op.op === 'send') {
              const text = `m${n++}`;
              outcomes.set(text, op.outcome);
              await outbox.send({ text, conversationId: op.conv });
            } else if (op.op === 'tick') {
              clock.advance(2000);
              await new Promise((r) => setTimeout(r, 0));
            } else {
              const failed = (await outbox.list()).filter((e) => e.status === 'failed');
              const target = failed[op.pick % Math.max(1, failed.length)];
              if (target)
                await (op.op === 'retry' ? outbox.retry(target.id) : outbox.discard(target.id));
            }
          }
          clock.advance(5000);
          await outbox.flush();
          // settled: the snapshot shows exactly what the outbox holds
          await waitFor(
            async () =>
              JSON.stringify(shape(store.getSnapshot())) ===
                JSON.stringify(shape(await outbox.list())) && stats.inFlight === 0,
          );
          expect(stats.maxInFlight).toBe(1);
          for (let i = 1; i < seen.length; i++) {
            expect(seen[i]).not.toBe(seen[i - 1]);
            expect(JSON.stringify(seen[i])).not.toBe(JSON.stringify(seen[i - 1]));
          }
          stop();
          await outbox.close();
        },
      ),
      { numRuns: 40, seed: 12 },
    );
  });

  it('a drain of 200 messages gives far fewer snapshots than events (reads are coalesced)', async () => {
    const net = switchable(false);
    const { outbox } = await make(new ScriptedTransport(), net);
    const { view, stats } = counted(outbox);
    let events = 0;
    outbox.subscribe(() => (events += 1));
    const store = outboxEntries(view);
    const { seen, stop } = record(store);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        outbox.send({ text: `m${i}`, conversationId: `c${i % 4}` }),
      ),
    );
    await waitFor(() => store.getSnapshot().length === 200);
    net.set(true);
    await waitFor(
      async () =>
        (await outbox.list()).length === 0 &&
        store.getSnapshot().length === 0 &&
        stats.inFlight === 0,
    );
    expect(stats.maxInFlight).toBe(1);
    expect(events).toBeGreaterThanOrEqual(600); // pending, sending, sent for each
    expect(stats.reads).toBeLessThan(events / 2);
    expect(seen.length).toBeLessThanOrEqual(stats.reads);
    stop();
    await outbox.close();
  });
});

describe('outboxTranscript', () => {
  it("shows a conversation's lines with their status and ignores other conversations", async () => {
    const net = switchable(false);
    const { outbox } = await make(new ScriptedTransport(), net);
    const { view, stats } = counted(outbox);
    const store = outboxTranscript(view, 'mine');
    expect(outboxTranscript(view, 'mine')).toBe(store);
    const { stop } = record(store);
    await outbox.send({ text: 'hello', conversationId: 'mine' });
    await waitFor(() => store.getSnapshot().length === 1 && stats.inFlight === 0);
    expect(store.getSnapshot().map((l) => [l.text, l.status])).toEqual([['hello', 'pending']]);
    const reads = stats.reads;
    await outbox.send({ text: 'elsewhere', conversationId: 'other' });
    expect(stats.reads).toBe(reads);
    net.set(true);
    await waitFor(() => store.getSnapshot()[0]?.status === 'sent');
    expect(store.getSnapshot().map((l) => l.text)).toEqual(['hello']);
    stop();
    await outbox.close();
  });
});

describe('outboxConnectivity', () => {
  it('follows the outbox: notified on each change, the value from outbox.online', async () => {
    const net = switchable(true);
    const { outbox } = await make(new ScriptedTransport(), net);
    const store = outboxConnectivity(outbox);
    expect(store.getSnapshot()).toBe(true);
    const { seen, stop } = record(store);
    net.set(false);
    net.set(false); // no change, no notification
    net.set(true);
    expect(seen).toEqual([false, true]);
    expect(outbox.online).toBe(true);
    stop();
    await outbox.close();
  });
});

describe('React hooks (server render: the first snapshot)', () => {
  it('render what the stores hold, and empty / online without an outbox', async () => {
    const net = switchable(false);
    const { outbox } = await make(new ScriptedTransport(), net);
    await outbox.send({ text: 'queued' });
    const entries = outboxEntries(outbox);
    const transcript = outboxTranscript(outbox);
    const stops = [entries.subscribe(() => {}), transcript.subscribe(() => {})];
    await waitFor(
      () => entries.getSnapshot().length === 1 && transcript.getSnapshot().length === 1,
    );
    function View({ box }: { box: Outbox | null }) {
      const list = useOutboxEntries(box);
      const lines = useTranscript(box);
      const online = useConnectivity(box);
      return createElement(
        'p',
        null,
        `${list.length}|${lines.map((l) => l.text).join(',')}|${online}`,
      );
    }
    expect(renderToString(createElement(View, { box: outbox }))).toBe('<p>1|queued|false</p>');
    expect(renderToString(createElement(View, { box: null }))).toBe('<p>0||true</p>');
    for (const s of stops) s();
    await outbox.close();
  });
});
