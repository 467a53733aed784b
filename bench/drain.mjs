// 3. Drain after an outage, through the simulator with 20 ms added latency (Node).
//
// HTTP: 1,000 messages over 10 conversations, httpTransport to the tutorial endpoint, the
// transport's default concurrency. Side by side, alternating, ROUNDS times: the outbox, and an
// "ideal client" (a pool of `concurrency` workers doing back-to-back fetches, no storage) that
// shows what this machine and simulator can actually do.
// Guest: 100 messages in one guest session over the WebSocket (2/s server limit), once.
//
// The simulator runs in its own process (bench/lib/remoteSim.mjs), driven over its control port.
// The network "returns" when `outage(false)` resolved; the app then learns it the way a browser
// does (an `online` event: a Connectivity that goes online and notifies). Until then the outbox
// was told it was offline (after its first attempts failed with connection refused).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { compileNode } from './lib/compile.mjs';
import { startRemoteSimulator } from './lib/remoteSim.mjs';
import { emit, median, round } from './lib/stats.mjs';

const quick = process.env.BENCH_QUICK === '1';
const LATENCY_MS = 20;
const HTTP_MESSAGES = 1000;
const CONVERSATIONS = 10;
const GUEST_MESSAGES = quick ? 20 : 100;
/** Extra short guest rounds (2 messages each) for the time to first delivery after reconnect. */
const GUEST_RECONNECT_ROUNDS = quick ? 2 : 5;
const ROUNDS = quick ? 1 : 3;
const TEXT = 'x'.repeat(200);
const lib = await import(await compileNode());
const dir = mkdtempSync(join(tmpdir(), 'outbox-drain-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** navigator.onLine + online/offline events, driven by the benchmark. */
function manualConnectivity() {
  let online = true;
  const listeners = new Set();
  return {
    isOnline: () => online,
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    set(value) {
      online = value;
      for (const l of listeners) l(value);
    },
  };
}

async function waitFor(predicate, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function analyse(records, t0, expected) {
  const mine = records.filter((r) => r.conversationId !== 'rtt');
  const times = mine.map((r) => r.receivedAt);
  const first = Math.min(...times);
  const last = Math.max(...times);
  return {
    delivered: mine.length,
    unique: new Set(mine.map((r) => r.externalId)).size,
    duplicates: mine.filter((r) => r.duplicate).length,
    missing: expected - new Set(mine.map((r) => r.externalId)).size,
    firstMs: first - t0,
    drainMs: last - t0,
    perSecond: (mine.length * 1000) / (last - t0),
  };
}

/** The longest wait between two deliveries (a stall shows here). */
function maxGap(records) {
  const t = records.map((r) => r.receivedAt).sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < t.length; i++) gap = Math.max(gap, t[i] - t[i - 1]);
  return gap;
}

/** Per conversation, were the messages stored in the order they were sent? */
function inOrder(records, sentIds) {
  const pos = new Map(records.map((r, i) => [r.externalId, i]));
  for (const ids of sentIds.values()) {
    for (let i = 1; i < ids.length; i++) if (!(pos.get(ids[i - 1]) < pos.get(ids[i]))) return false;
  }
  return true;
}

/**
 * The store with each call's duration kept when it is the slowest so far (`slowest`: the method's
 * name and ms): a drain that stalls with no retry shows here whether the store was what waited.
 */
function timed(store, slowest) {
  for (const [k, f] of Object.entries(store)) {
    if (typeof f !== 'function') continue;
    store[k] = (...args) => {
      const t = performance.now();
      const settle = () => {
        const ms = performance.now() - t;
        if (ms > slowest.ms) Object.assign(slowest, { method: k, ms: round(ms, 1) });
      };
      const out = f.apply(store, args);
      if (out instanceof Promise) out.then(settle, settle);
      else settle();
      return out;
    };
  }
  return store;
}

async function httpRound(sim, tokens, url, r) {
  const slowest = { method: '', ms: 0 };
  await sim.control.reset();
  await sim.control.latency(LATENCY_MS);
  const connectivity = manualConnectivity();
  const transport = lib.httpTransport({ url, getAccessToken: tokens });
  const outbox = await lib.createOutbox({
    transport,
    store: timed(lib.sqliteStore({ path: join(dir, `http-${r}.sqlite`) }), slowest),
    connectivity,
    name: `drain-${r}`,
  });
  await sim.control.outage('refuse');
  const sentIds = new Map();
  const sends = [];
  for (let i = 0; i < HTTP_MESSAGES; i++) {
    const conversationId = `conv-${i % CONVERSATIONS}`;
    sends.push(
      outbox.send({ text: TEXT, conversationId, metadata: { guestId: 'g' } }).then((e) => {
        if (!sentIds.has(conversationId)) sentIds.set(conversationId, []);
        sentIds.get(conversationId).push(e.id);
      }),
    );
  }
  await Promise.all(sends);
  await sleep(300); // the first attempts fail (connection refused)
  connectivity.set(false); // the browser's `offline` event
  await sleep(500);
  await sim.control.outage(false);
  // Attempts that failed after the network returned, by error code: a drain slower than the
  // limit with retries here waited out a backoff (that conversation's line waits with it).
  const retried = {};
  let reconnected = false;
  const unsubscribe = outbox.subscribe((ev) => {
    const err = ev.type === 'status' ? ev.entry.lastError : undefined;
    if (reconnected && err && ev.entry.status === 'pending') {
      retried[err.code] = (retried[err.code] ?? 0) + 1;
    }
  });
  const t0 = Date.now();
  reconnected = true;
  connectivity.set(true); // the browser's `online` event
  await waitFor(
    async () => (await sim.control.state()).deliveredCount >= HTTP_MESSAGES,
    120_000,
    'the HTTP drain',
  );
  await sleep(200); // anything extra (a duplicate) would show up now
  const records = await sim.control.delivered();
  unsubscribe();
  await outbox.close();
  return {
    ...analyse(records, t0, HTTP_MESSAGES),
    ordered: inOrder(records, sentIds),
    retried,
    maxGapMs: maxGap(records),
    slowestStoreCall: slowest,
  };
}

/** The ideal client: `concurrency` workers, back-to-back POSTs, nothing stored. */
async function idealRound(sim, token, url, concurrency) {
  await sim.control.reset();
  await sim.control.latency(LATENCY_MS);
  let next = 0;
  const t0 = Date.now();
  const worker = async () => {
    while (next < HTTP_MESSAGES) {
      const i = next++;
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          guestId: 'g',
          conversationId: `conv-${i % CONVERSATIONS}`,
          text: TEXT,
          externalId: crypto.randomUUID(),
        }),
      });
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { perSecond: (HTTP_MESSAGES * 1000) / (Date.now() - t0) };
}

async function measureRtt(sim, token, url) {
  await sim.control.reset();
  await sim.control.latency(LATENCY_MS);
  const samples = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        guestId: 'g',
        conversationId: 'rtt',
        text: TEXT,
        externalId: crypto.randomUUID(),
      }),
    });
    await res.arrayBuffer();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

async function http() {
  const sim = await startRemoteSimulator();
  try {
    const url = sim.url + lib.TUTORIAL_MESSAGES_PATH;
    const tokens = lib.clientCredentials({
      loginUrl: sim.url,
      clientId: 'sim-client',
      clientSecret: 'sim-secret',
    });
    const token = await tokens.getToken();
    const concurrency = lib.httpTransport({ url }).concurrency ?? 4;
    const rttMs = await measureRtt(sim, token, url);
    const rounds = [];
    const ideal = [];
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) {
        rounds.push(await httpRound(sim, tokens, url, r));
        ideal.push(await idealRound(sim, token, url, concurrency));
      } else {
        ideal.push(await idealRound(sim, token, url, concurrency));
        rounds.push(await httpRound(sim, tokens, url, r));
      }
    }
    // The limit: concurrency / RTT, or what the ideal client achieved if that is higher (RTT
    // measured one request at a time includes work that overlaps when 4 are in flight).
    const idealRate = median(ideal.map((x) => x.perSecond));
    const limit = Math.max((concurrency * 1000) / rttMs, idealRate);
    const nominal = (concurrency * 1000) / LATENCY_MS;
    const rate = median(rounds.map((x) => x.perSecond));
    return {
      messages: HTTP_MESSAGES,
      conversations: CONVERSATIONS,
      concurrency,
      rttMs: round(rttMs, 1),
      limitPerSecond: round(limit, 1),
      concurrencyOverRttPerSecond: round((concurrency * 1000) / rttMs, 1),
      nominalLimitPerSecond: round(nominal, 1),
      perSecond: round(rate, 1),
      idealClientPerSecond: round(idealRate, 1),
      ratioToLimit: round(rate / limit, 3),
      ratioToNominal: round(rate / nominal, 3),
      ratioToIdealClient: round(median(rounds.map((x, i) => x.perSecond / ideal[i].perSecond)), 3),
      firstDeliveryMs: round(median(rounds.map((x) => x.firstMs)), 1),
      firstDeliveryMaxMs: Math.max(...rounds.map((x) => x.firstMs)),
      duplicates: rounds.reduce((a, x) => a + x.duplicates, 0),
      missing: rounds.reduce((a, x) => a + x.missing, 0),
      ordered: rounds.every((x) => x.ordered),
      rounds,
    };
  } finally {
    await sim.close();
  }
}

async function guest(messages, name) {
  const sim = await startRemoteSimulator();
  try {
    await sim.control.latency(LATENCY_MS);
    await sim.control.delayFrames(LATENCY_MS);
    const connectivity = manualConnectivity();
    const outbox = await lib.createOutbox({
      transport: lib.guestTransport({
        webSocketUrl: sim.wsUrl,
        apiBaseUrl: sim.url,
        deploymentId: 'sim-deployment',
        WebSocket,
      }),
      store: lib.sqliteStore({ path: join(dir, `${name}.sqlite`) }),
      connectivity,
      name,
    });
    // One message first, so the session exists (as in a chat that was already going).
    const hello = await outbox.send({ text: 'hello' });
    await outbox.whenSettled(hello.id);
    await sleep(1100); // an empty rate window
    await sim.control.reset();
    await sim.control.latency(LATENCY_MS);
    await sim.control.delayFrames(LATENCY_MS);
    await sim.control.outage('refuse');
    const ids = [];
    for (let i = 0; i < messages; i++) ids.push((await outbox.send({ text: `${i} ${TEXT}` })).id);
    await sleep(300);
    connectivity.set(false);
    await sleep(500);
    await sim.control.outage(false);
    const t0 = Date.now();
    connectivity.set(true);
    await waitFor(
      async () => (await sim.control.state()).deliveredCount >= messages,
      messages * 1000 + 60_000,
      'the guest drain',
    );
    await sleep(1500); // a duplicate would show up now
    const records = await sim.control.delivered();
    await outbox.close();
    const a = analyse(records, t0, messages);
    // One request at a time, each answered after LATENCY_MS: 1000 / 20 = 50/s would allow more;
    // the limit is the server's 2 messages per second.
    const limit = Math.min(2, 1000 / LATENCY_MS);
    return {
      messages: messages,
      limitPerSecond: limit,
      perSecond: round(a.perSecond, 2),
      ratioToLimit: round(a.perSecond / limit, 3),
      firstDeliveryMs: a.firstMs,
      drainMs: a.drainMs,
      duplicates: a.duplicates,
      missing: a.missing,
      ordered: inOrder(records, new Map([['default', ids]])),
    };
  } finally {
    await sim.close();
  }
}

/** BENCH_DRAIN=http: the HTTP half only (diagnostic). */
const httpOnly = process.env.BENCH_DRAIN === 'http';
try {
  const h = await http();
  if (httpOnly) await emit({ http: h });
  else await guestToo(h);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

async function guestToo(h) {
  console.error(`drain http: ${h.perSecond}/s, first ${h.firstDeliveryMs} ms`);
  let g;
  try {
    g = await guest(GUEST_MESSAGES, 'guest-main');
    const firsts = [g.firstDeliveryMs];
    for (let r = 0; r < GUEST_RECONNECT_ROUNDS; r++) {
      const x = await guest(2, `guest-reconnect-${r}`);
      firsts.push(x.firstDeliveryMs);
      g.duplicates += x.duplicates;
      g.missing += x.missing;
      g.ordered &&= x.ordered;
    }
    g.firstDeliveries = firsts;
    g.firstDeliveryMs = median(firsts);
    g.firstDeliveryMaxMs = Math.max(...firsts);
  } catch (error) {
    g = { error: String(error) };
  }
  await emit({ http: h, guest: g });
}
