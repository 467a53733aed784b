// One regression test per row of the design's table of the tutorial's defects. Each is named after
// the defect and fails on the tutorial's behaviour.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator } from '../../simulator/index.js';
import type { Simulator } from '../../simulator/index.js';
import type { Outbox, OutboxOptions } from '../../src/outbox/createOutbox.js';
import { OfflineMessageQueue } from '../../src/outbox/OfflineMessageQueue.js';
import { memoryStore } from '../../src/store/memory.js';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import type { HttpTransportOptions } from '../../src/transport/http.js';
import { rejectionCode, thrownCode } from '../helpers/errorCode.js';
import { silentLogger } from '../../src/internal/logger.js';
import { FakeClock } from '../helpers/fakeClock.js';
import { waitFor } from '../helpers/waitFor.js';
import { tutorialOutbox } from '../helpers/tutorialOutbox.js';

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator({ port: 0 });
});
afterEach(async () => {
  await sim.close();
});

/** Counts every POST per externalId, so a concurrent double send shows even when the server answers 409. */
function countingFetch(): {
  fetch: typeof fetch;
  posts: Map<string, number>;
  tokenRequests: () => number;
} {
  const posts = new Map<string, number>();
  let tokens = 0;
  const f: typeof fetch = async (input, init) => {
    const url = String(input);
    if (url.endsWith('/oauth/token')) tokens++;
    else if (init?.method === 'POST' && typeof init.body === 'string') {
      const id = (JSON.parse(init.body) as { externalId?: string }).externalId ?? '?';
      posts.set(id, (posts.get(id) ?? 0) + 1);
    }
    return fetch(input, init);
  };
  return { fetch: f, posts, tokenRequests: () => tokens };
}

function open(
  extra: Partial<OutboxOptions> = {},
  transport: Partial<HttpTransportOptions> = {},
): Promise<Outbox> {
  return tutorialOutbox(sim, extra, transport);
}

const guest = { metadata: { guestId: 'g-1' } };

describe('the tutorial defects stay fixed', () => {
  it('timestamp + nextRetryAt mixed a relative delay with an absolute time: a 429 wait counts from the answer', async () => {
    const clock = new FakeClock(Date.now());
    const outbox = await open({ clock });
    sim.control.fail429(1, 30);
    const created = clock.now();
    clock.advance(10 * 60_000); // the message is old when it is first tried
    const e = await outbox.send({ text: 'late', ...guest });
    const [p] = await waitFor(async () => {
      const l = await outbox.list();
      return l[0]?.attempts === 1 ? l : undefined;
    });
    expect(p?.nextAttemptAt).toBe(clock.now() + 30_000);
    expect(p?.nextAttemptAt).toBeGreaterThan(created + 30_000);
    clock.advance(29_999);
    await new Promise((r) => setTimeout(r, 50));
    expect(sim.control.delivered()).toHaveLength(0);
    clock.advance(1);
    await expect(outbox.whenSettled(e.id)).resolves.toMatchObject({ status: 'sent' });
    await outbox.close();
  });

  it('getAll() keyed by random UUIDs sent in random order: order follows a monotonic sequence', async () => {
    const outbox = await open();
    const sent = [];
    for (let i = 0; i < 20; i++) sent.push(await outbox.send({ text: `m${i}`, ...guest }));
    await Promise.all(sent.map((e) => outbox.whenSettled(e.id)));
    expect(sim.control.delivered().map((d) => d.externalId)).toEqual(sent.map((e) => e.id));
    await outbox.close();
  });

  it('flush from timer, online and enqueue at once sent the same message twice: one request per message', async () => {
    const counting = countingFetch();
    sim.control.latency(30);
    const outbox = await open({}, { fetch: counting.fetch });
    const sends = Array.from({ length: 10 }, (_, i) => outbox.send({ text: `m${i}`, ...guest }));
    const flushes = Array.from({ length: 10 }, () => outbox.flush());
    const sent = await Promise.all(sends);
    await Promise.all(flushes);
    await Promise.all(sent.map((e) => outbox.whenSettled(e.id)));
    expect([...counting.posts.values()]).toEqual(Array(10).fill(1));
    expect(sim.control.delivered().filter((d) => d.duplicate)).toEqual([]);
    await outbox.close();
  });

  it('token fetched outside try: a token failure while offline no longer stops the scheduler', async () => {
    sim.control.failToken(3, 503);
    const outbox = await open();
    const e = await outbox.send({ text: 'x', ...guest });
    await expect(outbox.whenSettled(e.id)).resolves.toMatchObject({ status: 'sent' });
    await outbox.close();
  });

  it('retryCount >= MAX_RETRIES → remove lost messages silently: they fail visibly and are kept', async () => {
    sim.control.fail5xx(5, 503);
    const outbox = await open();
    const e = await outbox.send({ text: 'x', ...guest });
    const settled = await outbox.whenSettled(e.id);
    expect(settled).toMatchObject({
      status: 'failed',
      attempts: 5,
      lastError: { code: 'expired', status: 503 },
    });
    expect((await outbox.list()).map((x) => x.id)).toEqual([e.id]);
    await outbox.retry(e.id);
    await expect(outbox.whenSettled(e.id)).resolves.toMatchObject({ status: 'sent' });
    await outbox.close();
  });

  it('400/403/404 thrown into catch were retried then deleted: a rejection fails at once and is kept', async () => {
    const counting = countingFetch();
    // A body the endpoint refuses (no text): HTTP 400.
    const outbox = await open(
      {},
      {
        fetch: counting.fetch,
        body: (e) => ({ guestId: 'g', conversationId: e.conversationId, externalId: e.id }),
      },
    );
    const e = await outbox.send({ text: 'x' });
    const settled = await outbox.whenSettled(e.id);
    expect(settled).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: { code: 'rejected', status: 400 },
    });
    expect(counting.posts.get(e.id)).toBe(1);
    expect(await outbox.list()).toHaveLength(1);
    await outbox.close();
  });

  it('401 not handled reused a revoked token: it is refreshed once and the message goes through', async () => {
    const counting = countingFetch();
    const outbox = await open({}, { fetch: counting.fetch });
    const first = await outbox.send({ text: 'one', ...guest });
    await outbox.whenSettled(first.id);
    sim.control.revokeTokens();
    const second = await outbox.send({ text: 'two', ...guest });
    await expect(outbox.whenSettled(second.id)).resolves.toMatchObject({
      status: 'sent',
      attempts: 1,
    });
    expect(counting.tokenRequests()).toBe(2);
    expect(counting.posts.get(second.id)).toBe(2);
    await outbox.close();
  });

  it('parseInt(Retry-After) gave NaN for an HTTP-date and the message was stuck: the date is honoured', async () => {
    const clock = new FakeClock(Date.now());
    const outbox = await open({ clock });
    const at = new Date(Math.ceil((clock.now() + 5000) / 1000) * 1000);
    sim.control.fail429(1, at.toUTCString());
    const e = await outbox.send({ text: 'x', ...guest });
    const [p] = await waitFor(async () => {
      const l = await outbox.list();
      return l[0]?.attempts === 1 ? l : undefined;
    });
    expect(Number.isFinite(p?.nextAttemptAt)).toBe(true);
    const wait = (p?.nextAttemptAt ?? 0) - clock.now();
    expect(wait).toBeGreaterThan(3000);
    expect(wait).toBeLessThanOrEqual(6000);
    clock.advance(wait);
    await expect(outbox.whenSettled(e.id)).resolves.toMatchObject({ status: 'sent' });
    await outbox.close();
  });

  it('409 not handled retried then deleted a duplicate: 409 counts as delivered, one copy stored', async () => {
    sim.control.commitThenDrop(1);
    const outbox = await open();
    const e = await outbox.send({ text: 'x', ...guest });
    await expect(outbox.whenSettled(e.id)).resolves.toMatchObject({ status: 'sent', attempts: 2 });
    expect(sim.control.delivered().map((d) => d.externalId)).toEqual([e.id]);
    await outbox.close();
  });

  it('tx.onerror without onabort hung enqueue on a quota error: send() rejects with storage-full', async () => {
    const factory = new IDBFactory();
    const outbox = await open({ store: indexedDbStore({ name: 'quota', indexedDB: factory }) });
    const proto = globalThis.IDBObjectStore.prototype as unknown as Record<string, unknown>;
    const originals = { put: proto['put'], add: proto['add'] };
    const quota = () => {
      throw new DOMException('quota exceeded', 'QuotaExceededError');
    };
    proto['put'] = quota;
    proto['add'] = quota;
    const code = await rejectionCode(outbox.send({ text: 'x', ...guest }));
    proto['put'] = originals.put;
    proto['add'] = originals.add;
    expect(code).toBe('storage-full');
    expect(await outbox.list()).toEqual([]);
    const later = await outbox.send({ text: 'later', ...guest });
    await expect(outbox.whenSettled(later.id)).resolves.toMatchObject({ status: 'sent' });
    await outbox.close();
  });

  it('private config read from another class did not compile: the facade runs in Node 20 with no window', async () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    const queue = new OfflineMessageQueue({
      clientId: 'sim-client',
      clientSecret: 'sim-secret',
      apiBaseUrl: sim.url,
      loginBaseUrl: sim.url,
      retry: { baseDelayMs: 20, maxDelayMs: 200 },
      store: memoryStore(),
      outbox: { coordinator: false, logger: silentLogger },
      migrateTutorialData: false,
    });
    await queue.initialize();
    const id = await queue.enqueueMessage('guest-1', 'conv-1', 'Hello');
    await expect(queue.outbox.whenSettled(id)).resolves.toMatchObject({ status: 'sent' });
    expect(sim.control.delivered()).toMatchObject([
      { externalId: id, conversationId: 'conv-1', text: 'Hello' },
    ]);
    await queue.close();
  });

  it('https://${organizationId}.mypurecloud.com was not a Genesys host: region hosts are used', async () => {
    const urls: string[] = [];
    const fakeFetch: typeof fetch = async (input) => {
      urls.push(String(input));
      return String(input).endsWith('/oauth/token')
        ? Response.json({ access_token: 't', token_type: 'bearer', expires_in: 86400 })
        : Response.json({ id: 'server-id' });
    };
    const queue = new OfflineMessageQueue({
      region: 'eu_west_1',
      organizationId: 'acme',
      clientId: 'id',
      clientSecret: 'secret',
      fetch: fakeFetch,
      store: memoryStore(),
      outbox: { coordinator: false, logger: silentLogger },
      migrateTutorialData: false,
    });
    await queue.initialize();
    const id = await queue.enqueueMessage('g', 'c', 'Hello');
    await queue.outbox.whenSettled(id);
    expect(urls).toEqual([
      'https://login.mypurecloud.ie/oauth/token',
      'https://api.mypurecloud.ie/api/v2/conversations/messaging/messages',
    ]);
    await queue.close();
  });

  it('the client secret shipped in browser code: client credentials refuse to run in a browser', () => {
    const g = globalThis as { window?: unknown; document?: unknown };
    g.window = {};
    g.document = {};
    try {
      const code = thrownCode(
        () => new OfflineMessageQueue({ clientId: 'id', clientSecret: 'tutorial-secret-1' }),
      );
      expect(code).toBe('insecure-context');
    } finally {
      delete g.window;
      delete g.document;
    }
  });

  it('polling every 5 s forever woke the device for nothing: an idle outbox arms no timer', async () => {
    const clock = new FakeClock(Date.now());
    const queue = new OfflineMessageQueue({
      clientId: 'sim-client',
      clientSecret: 'sim-secret',
      apiBaseUrl: sim.url,
      loginBaseUrl: sim.url,
      store: memoryStore(),
      outbox: { coordinator: false, logger: silentLogger, clock },
      migrateTutorialData: false,
    });
    await queue.initialize();
    await new Promise((r) => setTimeout(r, 30));
    clock.advance(10 * 60_000);
    expect(clock.armed).toBe(0);
    const id = await queue.enqueueMessage('g', 'c', 'one');
    await queue.outbox.whenSettled(id);
    await new Promise((r) => setTimeout(r, 30));
    expect(clock.timers.size).toBe(0);
    await queue.close();
  });
});
