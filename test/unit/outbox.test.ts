import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import type { Outbox, OutboxOptions } from '../../src/outbox/createOutbox.js';
import type { OutboxEvent } from '../../src/outbox/events.js';
import { memoryStore } from '../../src/store/memory.js';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import type { Coordinator, CoordinatorHandlers } from '../../src/coordination/Coordinator.js';
import { silentLogger } from '../../src/internal/logger.js';
import { FakeClock } from '../helpers/fakeClock.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
import { waitFor } from '../helpers/waitFor.js';
import type { SendOutcome } from '../../src/transport/Transport.js';
import { rejectionCode } from '../helpers/errorCode.js';

const retry = { baseDelayMs: 100, maxDelayMs: 1000, maxAttempts: 5, maxAgeMs: 60_000 };

async function make(
  transport: ScriptedTransport,
  extra: Partial<OutboxOptions> = {},
): Promise<{ outbox: Outbox; clock: FakeClock; store: OutboxStore; events: OutboxEvent[] }> {
  const clock = (extra.clock as FakeClock | undefined) ?? new FakeClock();
  const store = extra.store ?? memoryStore();
  const outbox = await createOutbox({
    transport,
    store,
    clock,
    random: () => 1,
    retry,
    coordinator: false,
    logger: silentLogger,
    ...extra,
  });
  const events: OutboxEvent[] = [];
  outbox.subscribe((e) => events.push(e));
  return { outbox, clock, store, events };
}

describe('send: validation stores nothing', () => {
  it.each([
    [{ text: '' }, 'invalid-text'],
    [{ text: '   \n\t' }, 'invalid-text'],
    [{ text: 42 }, 'invalid-text'],
    [null, 'invalid-text'],
    [{ text: 'x'.repeat(4001) }, 'text-too-long'],
    [{ text: 'hi', conversationId: '' }, 'invalid-conversation-id'],
    [{ text: 'hi', conversationId: 7 }, 'invalid-conversation-id'],
    [{ text: 'hi', conversationId: 'c'.repeat(257) }, 'invalid-conversation-id'],
    [{ text: 'hi', metadata: { a: 1 } }, 'invalid-metadata'],
    [{ text: 'hi', metadata: ['a'] }, 'invalid-metadata'],
    [{ text: 'hi', metadata: 'a=b' }, 'invalid-metadata'],
    [{ text: 'hi', metadata: { nested: { a: 'b' } } }, 'invalid-metadata'],
  ])('%j → %s', async (input, code) => {
    const t = new ScriptedTransport();
    const { outbox, store } = await make(t);
    expect(await rejectionCode(outbox.send(input as never))).toBe(code);
    expect(await store.count()).toBe(0);
    expect(t.calls).toHaveLength(0);
    await outbox.close();
  });

  it('accepts exactly maxTextLength characters and a custom limit', async () => {
    const t = new ScriptedTransport();
    const { outbox } = await make(t, { maxTextLength: 10 });
    await expect(outbox.send({ text: 'x'.repeat(10) })).resolves.toMatchObject({
      status: 'pending',
    });
    expect(await rejectionCode(outbox.send({ text: 'x'.repeat(11) }))).toBe('text-too-long');
    await outbox.close();
  });

  it('rejects everything after close()', async () => {
    const { outbox } = await make(new ScriptedTransport());
    await outbox.close();
    expect(await rejectionCode(outbox.send({ text: 'late' }))).toBe('closed');
    expect(await rejectionCode(outbox.list())).toBe('closed');
  });

  it.each([
    [{ retry: { baseDelayMs: -1 } }],
    [{ retry: { baseDelayMs: 5000, maxDelayMs: 1000 } }],
    [{ retry: { maxAttempts: 0 } }],
    [{ maxTextLength: 0 }],
    [{ concurrency: 1.5 }],
  ])('invalid options %j → invalid-options', async (opts) => {
    expect(await rejectionCode(make(new ScriptedTransport(), opts as Partial<OutboxOptions>))).toBe(
      'invalid-options',
    );
  });

  it('requires a transport', async () => {
    expect(await rejectionCode(createOutbox({ store: memoryStore() } as never))).toBe(
      'invalid-options',
    );
  });
});

describe('write-ahead and delivery', () => {
  it('stores before the transport sees the entry, and resolves with a UUID entry', async () => {
    const t = new ScriptedTransport();
    let storedAtSend: unknown;
    const { outbox, store } = await make(t);
    t.script = async (entry) => {
      storedAtSend = await store.get(entry.id);
      return { kind: 'delivered' };
    };
    const entry = await outbox.send({ text: 'Hello', metadata: { k: 'v' } });
    expect(entry).toMatchObject({
      conversationId: 'default',
      text: 'Hello',
      metadata: { k: 'v' },
      status: 'pending',
      attempts: 0,
    });
    expect(entry.id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const done = await outbox.whenSettled(entry.id);
    expect(done).toMatchObject({ id: entry.id, status: 'sent', attempts: 1 });
    expect(storedAtSend).toMatchObject({ id: entry.id, status: 'sending' });
    expect(await outbox.list()).toEqual([]);
    await outbox.close();
  });

  it('group-commits sends of one tick in one append', async () => {
    const store = memoryStore();
    let appends = 0;
    const append = store.append.bind(store);
    store.append = (entries) => {
      appends++;
      return append(entries);
    };
    const t = new ScriptedTransport();
    t.gate = new Promise(() => {}); // keep everything pending
    const { outbox } = await make(t, { store });
    await Promise.all(Array.from({ length: 50 }, (_, i) => outbox.send({ text: `m${i}` })));
    expect(appends).toBe(1);
    expect((await outbox.list()).map((e) => e.text)).toEqual(
      Array.from({ length: 50 }, (_, i) => `m${i}`),
    );
  });

  it('keeps strict FIFO per conversation while conversations run in parallel', async () => {
    const t = new ScriptedTransport(undefined, 3);
    let open!: () => void;
    t.gate = new Promise((r) => (open = r)); // attempts wait until everything is stored
    const { outbox } = await make(t);
    const conversations = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];
    const sent = [];
    for (let i = 0; i < 30; i++) {
      sent.push(await outbox.send({ text: `m${i}`, conversationId: `c${i % 6}` }));
    }
    // Six conversations are ready, three slots: exactly three attempts go.
    await waitFor(() => t.calls.length === 3 || undefined);
    await new Promise((r) => setTimeout(r, 30));
    expect(t.calls).toHaveLength(3);
    open();
    await Promise.all(sent.map((e) => outbox.whenSettled(e.id)));
    expect(t.maxInFlightPerConversation).toBe(1);
    expect(t.maxInFlight).toBe(3);
    for (const c of conversations) {
      const order = t.delivered.filter((e) => e.conversationId === c).map((e) => e.text);
      expect(order).toEqual(sent.filter((e) => e.conversationId === c).map((e) => e.text));
    }
    await outbox.close();
  });

  it('a conversation stuck in retries does not block another', async () => {
    const t = new ScriptedTransport((e) =>
      e.conversationId === 'stuck'
        ? { kind: 'retry', error: { code: 'server-error', message: '503', status: 503 } }
        : { kind: 'delivered' },
    );
    const { outbox } = await make(t);
    await outbox.send({ text: 'a', conversationId: 'stuck' });
    const b = await outbox.send({ text: 'b', conversationId: 'free' });
    await expect(outbox.whenSettled(b.id)).resolves.toMatchObject({ status: 'sent' });
    await outbox.close();
  });
});

describe('outcomes and schedule', () => {
  it('backs off with full jitter from an absolute nextAttemptAt, reusing the id', async () => {
    const t = new ScriptedTransport((_e, n) =>
      n < 4
        ? { kind: 'retry', error: { code: 'server-error', message: '500', status: 500 } }
        : { kind: 'delivered' },
    );
    const { outbox, clock } = await make(t);
    const t0 = clock.now();
    const e = await outbox.send({ text: 'x' });
    const delays: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const [pending] = await waitFor(async () => {
        const l = await outbox.list();
        return l[0]?.status === 'pending' && l[0].attempts === i ? l : undefined;
      });
      delays.push((pending?.nextAttemptAt ?? 0) - clock.now());
      expect(pending?.lastError).toEqual({ code: 'server-error', message: '500', status: 500 });
      clock.advance(delays[i - 1] ?? 0);
    }
    expect(delays).toEqual([100, 200, 400]);
    await expect(outbox.whenSettled(e.id)).resolves.toMatchObject({ status: 'sent', attempts: 4 });
    expect(new Set(t.calls.map((c) => c.entry.id))).toEqual(new Set([e.id]));
    expect(t.calls.map((c) => c.context.attempt)).toEqual([1, 2, 3, 4]);
    expect(clock.now() - t0).toBe(700);
    await outbox.close();
  });

  it('waits exactly Retry-After (no jitter, not capped by maxDelayMs) and pauses every conversation', async () => {
    const t = new ScriptedTransport((e, n) =>
      e.text === 'a' && n === 1
        ? {
            kind: 'rate-limited',
            retryAfterMs: 5000,
            error: { code: 'rate-limited', message: '429', status: 429 },
          }
        : { kind: 'delivered' },
    );
    const { outbox, clock } = await make(t, { concurrency: 1 });
    const a = await outbox.send({ text: 'a', conversationId: 'A' });
    const [pa] = await waitFor(async () => {
      const l = await outbox.list();
      return l[0]?.attempts === 1 ? l : undefined;
    });
    expect((pa?.nextAttemptAt ?? 0) - clock.now()).toBe(5000);
    const b = await outbox.send({ text: 'b', conversationId: 'B' });
    await new Promise((r) => setTimeout(r, 30));
    expect(t.calls.map((c) => c.entry.text)).toEqual(['a']);
    clock.advance(4999);
    await new Promise((r) => setTimeout(r, 30));
    expect(t.calls).toHaveLength(1);
    clock.advance(1);
    await expect(outbox.whenSettled(a.id)).resolves.toMatchObject({ status: 'sent' });
    await expect(outbox.whenSettled(b.id)).resolves.toMatchObject({ status: 'sent' });
    await outbox.close();
  });

  it('frees the transport slot once the transport answered: another conversation goes while the outcome is recorded, the same one waits', async () => {
    const store = memoryStore();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const putTranscript = store.putTranscript.bind(store);
    store.putTranscript = async (records) => {
      if (records.some((r) => r.text === 'a1')) await gate; // recording a1's delivery is slow
      return putTranscript(records);
    };
    const t = new ScriptedTransport(undefined, 1);
    const { outbox } = await make(t, { store });
    const a1 = await outbox.send({ text: 'a1', conversationId: 'A' });
    const a2 = await outbox.send({ text: 'a2', conversationId: 'A' });
    const b1 = await outbox.send({ text: 'b1', conversationId: 'B' });
    // a1 answered; while its line is being written, b1 takes the one slot, a2 waits behind a1.
    await waitFor(() => t.calls.length === 2 || undefined);
    await new Promise((r) => setTimeout(r, 30));
    expect(t.calls.map((c) => c.entry.text)).toEqual(['a1', 'b1']);
    expect(t.maxInFlight).toBe(1);
    await expect(outbox.whenSettled(b1.id)).resolves.toMatchObject({ status: 'sent' });
    expect((await store.get(a1.id))?.status).toBe('sending');
    open();
    await expect(outbox.whenSettled(a2.id)).resolves.toMatchObject({ status: 'sent' });
    expect(t.calls.map((c) => c.entry.text)).toEqual(['a1', 'b1', 'a2']);
    expect(t.maxInFlightPerConversation).toBe(1);
    await outbox.close();
  });

  it('fails rejected entries with the reason, keeps them, and lets the conversation go on', async () => {
    const t = new ScriptedTransport((e) =>
      e.text === 'bad'
        ? {
            kind: 'rejected',
            error: { code: 'rejected', message: 'HTTP 400 bad.request', status: 400 },
          }
        : { kind: 'delivered' },
    );
    const { outbox } = await make(t);
    const bad = await outbox.send({ text: 'bad' });
    const good = await outbox.send({ text: 'good' });
    await expect(outbox.whenSettled(bad.id)).resolves.toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: { code: 'rejected', status: 400 },
    });
    await expect(outbox.whenSettled(good.id)).resolves.toMatchObject({ status: 'sent' });
    expect(await outbox.list()).toMatchObject([{ id: bad.id, status: 'failed' }]);
    expect(t.calls.filter((c) => c.entry.id === bad.id)).toHaveLength(1);
    await outbox.close();
  });

  it('retry() moves a failed entry to the back of its line; discard() removes it', async () => {
    let reject = true;
    const t = new ScriptedTransport((e) =>
      e.text === 'first' && reject
        ? { kind: 'rejected', error: { code: 'rejected', message: '403', status: 403 } }
        : { kind: 'delivered' },
    );
    const { outbox } = await make(t);
    const first = await outbox.send({ text: 'first' });
    await outbox.whenSettled(first.id);
    const second = await outbox.send({ text: 'second' });
    await outbox.whenSettled(second.id);
    reject = false;
    expect(await rejectionCode(outbox.retry(second.id))).toBe('not-found');
    await outbox.retry(first.id);
    await expect(outbox.whenSettled(first.id)).resolves.toMatchObject({ status: 'sent' });
    expect(t.delivered.map((e) => e.text)).toEqual(['second', 'first']);

    reject = true;
    const third = await outbox.send({ text: 'first' });
    await outbox.whenSettled(third.id);
    expect(await rejectionCode(outbox.retry('nope'))).toBe('not-found');
    await outbox.discard(third.id);
    expect(await outbox.list()).toEqual([]);
    await outbox.close();
  });

  it('retry() of a pending entry is invalid-state', async () => {
    const t = new ScriptedTransport();
    t.gate = new Promise(() => {});
    const { outbox } = await make(t);
    const e = await outbox.send({ text: 'x' });
    expect(await rejectionCode(outbox.retry(e.id))).toBe('invalid-state');
  });

  it('expires after maxAttempts with code expired and keeps the entry', async () => {
    const t = new ScriptedTransport(() => ({
      kind: 'retry',
      error: { code: 'server-error', message: '502', status: 502 },
    }));
    const { outbox, clock } = await make(t);
    const e = await outbox.send({ text: 'x' });
    const settled = outbox.whenSettled(e.id);
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 10));
      clock.advance(1000);
    }
    await expect(settled).resolves.toMatchObject({
      status: 'failed',
      attempts: 5,
      lastError: { code: 'expired' },
    });
    expect(await outbox.list()).toHaveLength(1);
    await outbox.close();
  });

  it('expires after maxAgeMs with code expired, even while offline', async () => {
    const t = new ScriptedTransport(() => ({
      kind: 'offline',
      error: { code: 'network', message: 'refused' },
    }));
    const { outbox, clock } = await make(t);
    const e = await outbox.send({ text: 'x' });
    await waitFor(() => t.calls.length === 1);
    const settled = outbox.whenSettled(e.id);
    clock.advance(60_000);
    await expect(settled).resolves.toMatchObject({
      status: 'failed',
      attempts: 0,
      lastError: { code: 'expired' },
    });
    await outbox.close();
  });

  it('does not count attempts made while offline', async () => {
    const t = new ScriptedTransport((_e, n) =>
      n <= 8
        ? { kind: 'offline', error: { code: 'network', message: 'ECONNREFUSED' } }
        : { kind: 'delivered' },
    );
    const { outbox, clock } = await make(t);
    const e = await outbox.send({ text: 'x' });
    const settled = outbox.whenSettled(e.id);
    for (let i = 0; i < 12; i++) {
      await new Promise((r) => setTimeout(r, 10));
      clock.advance(1000);
    }
    await expect(settled).resolves.toMatchObject({ status: 'sent', attempts: 1 });
    await outbox.close();
  });

  it('re-authentication retries at once, once, without spending an attempt', async () => {
    const t = new ScriptedTransport((_e, n) =>
      n === 1
        ? { kind: 'reauth', error: { code: 'auth-failed', message: '401', status: 401 } }
        : { kind: 'delivered' },
    );
    const { outbox } = await make(t);
    const e = await outbox.send({ text: 'x' });
    await expect(outbox.whenSettled(e.id)).resolves.toMatchObject({ status: 'sent', attempts: 1 });
    expect(t.calls).toHaveLength(2);
    await outbox.close();
  });

  it('a transport that throws is retried with backoff, never kills the loop', async () => {
    const t = new ScriptedTransport((_e, n) => {
      if (n === 1) throw new TypeError('bug');
      return { kind: 'delivered' };
    });
    const { outbox, clock } = await make(t);
    const e = await outbox.send({ text: 'x' });
    const [p] = await waitFor(async () => {
      const l = await outbox.list();
      return l[0]?.attempts === 1 ? l : undefined;
    });
    expect(p?.lastError?.code).toBe('unknown');
    clock.advance(100);
    await expect(outbox.whenSettled(e.id)).resolves.toMatchObject({ status: 'sent' });
    await outbox.close();
  });

  it('flush() tries backed-off entries now', async () => {
    const t = new ScriptedTransport((_e, n) =>
      n === 1 ? { kind: 'retry', error: { code: 'timeout', message: 't' } } : { kind: 'delivered' },
    );
    const { outbox } = await make(t, {
      retry: { ...retry, baseDelayMs: 50_000, maxDelayMs: 50_000 },
    });
    const e = await outbox.send({ text: 'x' });
    await waitFor(async () => (await outbox.list())[0]?.attempts === 1);
    await outbox.flush();
    await expect(outbox.whenSettled(e.id)).resolves.toMatchObject({ status: 'sent' });
    await outbox.close();
  });

  it('emits every status change in order', async () => {
    const t = new ScriptedTransport((_e, n) =>
      n === 1
        ? { kind: 'retry', error: { code: 'server-error', message: '500' } }
        : { kind: 'delivered' },
    );
    const { outbox, clock, events } = await make(t);
    const e = await outbox.send({ text: 'x' });
    await waitFor(async () => (await outbox.list())[0]?.attempts === 1);
    clock.advance(100);
    await outbox.whenSettled(e.id);
    expect(
      events.filter((x) => x.type === 'status').map((x) => x.type === 'status' && x.entry.status),
    ).toEqual(['pending', 'sending', 'pending', 'sending', 'sent']);
    await outbox.close();
  });
});

describe('no polling', () => {
  it('an empty outbox arms no timer, ever', async () => {
    const clock = new FakeClock();
    const { outbox } = await make(new ScriptedTransport(), { clock });
    await new Promise((r) => setTimeout(r, 20));
    clock.advance(10 * 60_000);
    expect(clock.armed).toBe(0);
    await outbox.close();
  });

  it('one timer for the earliest due entry across conversations', async () => {
    const t = new ScriptedTransport((e, n) =>
      n === 1
        ? {
            kind: 'rate-limited',
            retryAfterMs: e.text === 'a' ? 9000 : 3000,
            error: { code: 'rate-limited', message: '' },
          }
        : { kind: 'delivered' },
    );
    const clock = new FakeClock();
    const { outbox } = await make(t, { clock, concurrency: 2 });
    await outbox.send({ text: 'a', conversationId: 'A' });
    await waitFor(async () => (await outbox.list())[0]?.attempts === 1);
    await outbox.send({ text: 'b', conversationId: 'B' });
    await new Promise((r) => setTimeout(r, 30));
    expect(clock.timers.size).toBe(1);
  });
});

describe('restart (reload) resumes everything', () => {
  it('resumes pending entries and marks the one in flight as in doubt', async () => {
    const indexedDB = new IDBFactory();
    const clock = new FakeClock();
    const t1 = new ScriptedTransport();
    t1.gate = new Promise(() => {}); // the first attempt never answers: in flight at "reload"
    const first = await make(t1, { clock, store: indexedDbStore({ name: 'r', indexedDB }) });
    const a = await first.outbox.send({ text: 'a' });
    const b = await first.outbox.send({ text: 'b' });
    await waitFor(() => t1.calls.length === 1);
    // Simulate the page going away: the store is closed under the outbox.
    void first.outbox.close();
    await new Promise((r) => setTimeout(r, 20));

    const t2 = new ScriptedTransport();
    const second = await make(t2, { clock, store: indexedDbStore({ name: 'r', indexedDB }) });
    await expect(second.outbox.whenSettled(a.id)).resolves.toMatchObject({ status: 'sent' });
    await expect(second.outbox.whenSettled(b.id)).resolves.toMatchObject({ status: 'sent' });
    expect(t2.calls.map((c) => [c.entry.text, c.context.inDoubt])).toEqual([
      ['a', true],
      ['b', false],
    ]);
    await second.outbox.close();
  });

  it('the in-doubt mark survives attempts that reach nothing, and restarts, until a verdict', async () => {
    const indexedDB = new IDBFactory();
    const clock = new FakeClock();
    const t1 = new ScriptedTransport();
    t1.gate = new Promise(() => {}); // in flight at "reload"
    const first = await make(t1, { clock, store: indexedDbStore({ name: 'd', indexedDB }) });
    const a = await first.outbox.send({ text: 'a' });
    await waitFor(() => t1.calls.length === 1);
    void first.outbox.close();
    await new Promise((r) => setTimeout(r, 20));

    // After the restart: not connected twice (no verdict), then the transport settles the doubt.
    const offline: SendOutcome = {
      kind: 'offline',
      error: { code: 'network', message: 'not connected' },
    };
    const t2 = new ScriptedTransport((_e, n) =>
      n <= 2 ? offline : n === 3 ? { ...offline, inDoubtSince: null } : { kind: 'delivered' },
    );
    const second = await make(t2, { clock, store: indexedDbStore({ name: 'd', indexedDB }) });
    for (let n = 1; n <= 4; n++) {
      await waitFor(() => t2.calls.length >= n);
      await waitFor(async () => (await second.outbox.list())[0]?.status !== 'sending');
      await second.outbox.flush();
    }
    await expect(second.outbox.whenSettled(a.id)).resolves.toMatchObject({ status: 'sent' });
    expect(t1.calls[0]!.context.inDoubt).toBe(false);
    expect(t2.calls.map((c) => c.context.inDoubt)).toEqual([true, true, true, false]);
    expect(t2.calls[0]!.context.inDoubtSince).toBe(t2.calls[2]!.context.inDoubtSince);
    await second.outbox.close();
  });

  it('nextAttemptAt survives a restart', async () => {
    const indexedDB = new IDBFactory();
    const clock = new FakeClock();
    const t1 = new ScriptedTransport(() => ({
      kind: 'retry',
      error: { code: 'server-error', message: '' },
    }));
    const first = await make(t1, { clock, store: indexedDbStore({ name: 's', indexedDB }) });
    await first.outbox.send({ text: 'a' });
    const [p] = await waitFor(async () => {
      const l = await first.outbox.list();
      return l[0]?.attempts === 1 ? l : undefined;
    });
    await first.outbox.close();
    const t2 = new ScriptedTransport();
    const second = await make(t2, { clock, store: indexedDbStore({ name: 's', indexedDB }) });
    await new Promise((r) => setTimeout(r, 30));
    expect(t2.calls).toHaveLength(0);
    expect(clock.nextTimerAt()).toBe(p?.nextAttemptAt);
    clock.advance(100);
    await waitFor(() => t2.calls.length === 1);
    await second.outbox.close();
  });
});

describe('connectivity', () => {
  function manualConnectivity(initial: boolean) {
    let online = initial;
    const listeners = new Set<(o: boolean) => void>();
    return {
      isOnline: () => online,
      subscribe(l: (o: boolean) => void) {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      set(o: boolean) {
        online = o;
        for (const l of listeners) l(o);
      },
    };
  }

  it('offline pauses without spending attempts; online delivers at once, ignoring the network backoff', async () => {
    const conn = manualConnectivity(false);
    const t = new ScriptedTransport();
    const { outbox, events } = await make(t, { connectivity: conn });
    const e = await outbox.send({ text: 'x' });
    await new Promise((r) => setTimeout(r, 30));
    expect(t.calls).toHaveLength(0);
    conn.set(true);
    await expect(outbox.whenSettled(e.id)).resolves.toMatchObject({ status: 'sent', attempts: 1 });
    expect(events.filter((x) => x.type === 'connectivity')).toEqual([
      { type: 'connectivity', online: true },
    ]);
    await outbox.close();
  });

  it('a wake-up while already online (page visible again) retries entries that waited for the network', async () => {
    const conn = manualConnectivity(true);
    const t = new ScriptedTransport((_e, n) =>
      n === 1
        ? { kind: 'offline', error: { code: 'network', message: 'refused' } }
        : { kind: 'delivered' },
    );
    const { outbox, events } = await make(t, {
      connectivity: conn,
      retry: { ...retry, baseDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    const e = await outbox.send({ text: 'x' });
    await waitFor(async () => (await outbox.list())[0]?.lastError?.code === 'network');
    conn.set(true); // no change, only a wake-up
    await expect(outbox.whenSettled(e.id)).resolves.toMatchObject({ status: 'sent' });
    expect(events.filter((x) => x.type === 'connectivity')).toEqual([]);
    await outbox.close();
  });
});

describe('leadership', () => {
  it('asks the coordinator before sending: a lapsed leader (no change event) sends nothing until told to look again', async () => {
    let leading = true;
    let handlers: CoordinatorHandlers | undefined;
    const lapsing: Coordinator = {
      start(h) {
        handlers = h;
        h.onLeadershipChange(true);
      },
      isLeader: () => leading,
      broadcast: () => {},
      requestWake: () => {},
      close: async () => {},
    };
    const t = new ScriptedTransport();
    const { outbox } = await make(t, { coordinator: lapsing });
    const a = await outbox.send({ text: 'a' });
    await expect(outbox.whenSettled(a.id)).resolves.toMatchObject({ status: 'sent' });
    leading = false; // e.g. a lease that ran out while this tab's timers were throttled
    const b = await outbox.send({ text: 'b' });
    await new Promise((r) => setTimeout(r, 30));
    expect(t.calls.map((c) => c.entry.text)).toEqual(['a']);
    leading = true;
    handlers?.onWakeRequest();
    await expect(outbox.whenSettled(b.id)).resolves.toMatchObject({ status: 'sent' });
    await outbox.close();
  });
});

describe('a coordinator that throws', () => {
  it('a broadcast that throws for one entry of a group commit rejects that send() only: the others resolve, all stay stored', async () => {
    const boom = new Error('broadcast failed');
    const picky: Coordinator = {
      start: (h) => h.onLeadershipChange(false),
      isLeader: () => false,
      broadcast: (event) => {
        if (event.type === 'status' && event.entry.text === 'b') throw boom;
      },
      requestWake: () => {},
      close: async () => {},
    };
    const { outbox, store } = await make(new ScriptedTransport(), { coordinator: picky });
    const [a, b, c] = await Promise.allSettled(
      ['a', 'b', 'c'].map((text) => outbox.send({ text })),
    );
    expect(a).toMatchObject({ status: 'fulfilled', value: { text: 'a' } });
    expect(b).toEqual({ status: 'rejected', reason: boom });
    expect(c).toMatchObject({ status: 'fulfilled', value: { text: 'c' } });
    expect(await store.count()).toBe(3);
    await outbox.close();
  });
});

describe('default store', () => {
  it('reports a corrupt record as an event and keeps serving the rest', async () => {
    const name = `corrupt-${Math.random()}`;
    const neverLeader = {
      start: () => {},
      isLeader: () => false,
      broadcast: () => {},
      requestWake: () => {},
      close: async () => {},
    };
    const first = await createOutbox({
      transport: new ScriptedTransport(),
      name,
      coordinator: neverLeader,
      logger: silentLogger,
    });
    const good = await first.send({ text: 'good' });
    await first.close();
    // Write a broken record straight into the database, as a bug or a bad upgrade might.
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.open(name);
      req.onsuccess = () => {
        const tx = req.result.transaction('entries', 'readwrite');
        tx.objectStore('entries').put({
          id: 'broken',
          seq: 99,
          status: 'pending',
          conversationId: 'default',
        });
        tx.oncomplete = () => {
          req.result.close();
          resolve();
        };
        tx.onerror = () => reject(tx.error);
      };
    });
    const second = await createOutbox({
      transport: new ScriptedTransport(),
      name,
      coordinator: neverLeader,
      logger: silentLogger,
    });
    const events: OutboxEvent[] = [];
    second.subscribe((e) => events.push(e));
    expect((await second.list()).map((e) => e.id)).toEqual([good.id]);
    expect(events).toEqual([{ type: 'corrupt-record', key: 'broken', reason: expect.any(String) }]);
    await second.close();
  });
});

describe('work per send', () => {
  it('does not read heads for a message that cannot start yet (its conversation is busy)', async () => {
    const store = memoryStore();
    let headReads = 0;
    const heads = store.heads.bind(store);
    store.heads = (limit) => {
      headReads++;
      return heads(limit);
    };
    const t = new ScriptedTransport();
    t.gate = new Promise(() => {}); // the first message stays in flight
    const { outbox } = await make(t, { store });
    await outbox.send({ text: 'first' });
    await waitFor(() => t.calls.length === 1);
    const before = headReads;
    for (let i = 0; i < 20; i++) await outbox.send({ text: `m${i}` });
    expect(headReads).toBe(before);
  });

  it("tells the store that send()'s ids are its own, just generated (IndexedDB: put, no duplicate lookup), also through encryption", async () => {
    for (const encrypted of [false, true]) {
      const inner = memoryStore();
      const seen: unknown[] = [];
      const append = inner.append.bind(inner);
      inner.append = (entries, options) => {
        seen.push(options);
        return append(entries, options);
      };
      const t = new ScriptedTransport();
      t.gate = new Promise(() => {});
      const { outbox } = await make(t, {
        store: inner,
        ...(encrypted
          ? {
              encryption: {
                key: await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
                  'encrypt',
                  'decrypt',
                ]),
              },
            }
          : {}),
      });
      await Promise.all([outbox.send({ text: 'a' }), outbox.send({ text: 'b' })]);
      await outbox.send({ text: 'c' });
      expect(seen).toEqual([{ generatedIds: true }, { generatedIds: true }]);
      await outbox.close();
    }
  });
});
