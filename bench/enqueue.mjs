// 1. Durable enqueue in headless Chromium with real IndexedDB.
//
// Sequential: every contender is opened side by side (fresh database each) and driven in
// alternating chunks of CHUNK awaited writes, rotating the order every chunk, so all of them see
// the same machine noise. Latency = one awaited call until its transaction committed.
// Batched (a burst): N calls issued at once then awaited (the outbox group-commits them), against
// N puts in one raw transaction; every contender on a fresh database, contenders alternate (order
// rotated every round), one unmeasured warm-up round, then BATCH_ROUNDS rounds. A batch of 1,000
// takes ~50 ms, so one scheduling hiccup moves a single ratio by 0.1: the heap is collected before
// every batch, each contender waits 100 ms after opening, each ratio is the median of
// the per-round paired ratios, reported with its quartiles and range, and a larger batch
// (BENCH_BATCH_LARGE, default 5,000) is measured beside the sizes asked for.
import { loadavg } from 'node:os';
import { openBench } from './lib/browser.mjs';
import { emit, median, quantile, round } from './lib/stats.mjs';

const quick = process.env.BENCH_QUICK === '1';
const CHUNK = 100;
/**
 * [messages, contenders]. The diagnostics ('raw-indexed', 'store', 'outbox-follower') and the lean
 * configuration only at 1,000, to keep the whole run within 10 minutes on 2 cores.
 */
const PLAN = [
  [
    1000,
    ['raw', 'raw-indexed', 'store', 'outbox-follower', 'outbox-lean', 'outbox-default', 'workbox'],
  ],
  [quick ? 2000 : 10000, ['raw', 'outbox-default', 'workbox']],
];
if (process.env.BENCH_KINDS)
  PLAN.splice(0, PLAN.length, [1000, process.env.BENCH_KINDS.split(',')]);
/** BENCH_ROUNDS / BENCH_BATCH_ROUNDS: more rounds for a steadier median on a loaded machine. */
const ROUNDS_1K = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 2));
const BATCH_SIZES = process.env.BENCH_BATCH
  ? process.env.BENCH_BATCH.split(',').map(Number)
  : [1000, 10000];
/** A larger burst beside the sizes asked for (`BENCH_BATCH_LARGE=0`: none). */
const BATCH_LARGE = Number(process.env.BENCH_BATCH_LARGE ?? (quick ? 0 : 5000));
if (BATCH_LARGE > 0 && !BATCH_SIZES.includes(BATCH_LARGE)) BATCH_SIZES.push(BATCH_LARGE);
/** Rounds per batch size: BENCH_BATCH_ROUNDS for 1,000 and below, fewer for larger batches. */
const BATCH_ROUNDS = Number(process.env.BENCH_BATCH_ROUNDS ?? (quick ? 2 : 21));
const batchRounds = (n) => (n <= 1000 ? BATCH_ROUNDS : Math.max(3, Math.ceil(BATCH_ROUNDS / 2)));

/** A ratio's spread over its pairs: median (the figure), quartiles, range, number of pairs. */
const spread = (xs) => ({
  median: round(median(xs), 3),
  p25: round(quantile(xs, 0.25), 3),
  p75: round(quantile(xs, 0.75), 3),
  min: round(Math.min(...xs), 3),
  max: round(Math.max(...xs), 3),
  pairs: xs.length,
});

const loadBefore = loadavg().map((x) => round(x, 2));
const b = await openBench();
const result = { browser: b.version, sequential: {}, batched: {} };

async function sequential(n, kinds, rounds) {
  const perKind = Object.fromEntries(kinds.map((k) => [k, { ms: 0, lat: [], chunks: [] }]));
  for (let r = 0; r < rounds; r++) {
    const ids = {};
    for (const k of kinds) ids[k] = await b.page.evaluate((kk) => window.bench.begin(kk), k);
    for (let c = 0; c < n / CHUNK; c++) {
      const order = kinds.map((_, i) => kinds[(i + c) % kinds.length]);
      for (const k of order) {
        const x = await b.page.evaluate(
          ([id, cnt]) => window.bench.chunk(id, cnt),
          [ids[k], CHUNK],
        );
        perKind[k].ms += x.totalMs;
        perKind[k].chunks.push(x.totalMs);
        perKind[k].lat.push(...x.lat);
      }
    }
    for (const k of kinds) await b.page.evaluate((id) => window.bench.end(id), ids[k]);
  }
  const out = {};
  for (const k of kinds) {
    const p = perKind[k];
    out[k] = {
      perSecond: round((n * rounds * 1000) / p.ms, 0),
      p50Ms: round(quantile(p.lat, 0.5), 3),
      p99Ms: round(quantile(p.lat, 0.99), 3),
    };
  }
  // Ratios of throughput, chunk by chunk (same moment, same noise), then the median.
  const pairs = (a, z) => perKind[a].chunks.map((t, i) => perKind[z].chunks[i] / t);
  out.ratios = {};
  out.ratioSpread = {};
  const put = (name, xs) => {
    out.ratios[name] = round(median(xs), 3);
    out.ratioSpread[name] = spread(xs);
  };
  for (const k of kinds.filter((k) => k !== 'raw' && k !== 'workbox')) {
    if (kinds.includes('raw')) put(`${k} / raw`, pairs(k, 'raw'));
    if (kinds.includes('workbox')) put(`${k} / workbox`, pairs(k, 'workbox'));
  }
  return out;
}

for (const [n, kinds] of PLAN) {
  const t = Date.now();
  result.sequential[n] = await sequential(n, kinds, n === 1000 ? ROUNDS_1K : 1);
  console.error(`enqueue sequential ${n}: ${((Date.now() - t) / 1000).toFixed(0)} s`);
}

for (const n of BATCH_SIZES) {
  const t = Date.now();
  // 'store' (diagnostic): the library's store alone, one append of n entries.
  // BENCH_BATCH_KINDS: other contenders (diagnostics: 'raw-heads', 'raw-heads-put'); 'raw' first.
  const kinds = process.env.BENCH_BATCH_KINDS?.split(',') ?? [
    'raw',
    'raw-indexed',
    'store',
    'outbox-lean',
    'outbox-default',
  ];
  const times = Object.fromEntries(kinds.map((k) => [k, []]));
  /** Until every request of the batch was issued (the page's JS before it waits for the backend). */
  const issue = {};
  const rounds = batchRounds(n);
  for (let r = -1; r < rounds; r++) {
    for (let i = 0; i < kinds.length; i++) {
      const k = kinds[(i + r + 1) % kinds.length];
      // Nothing of the previous round left to collect during this one (same for every contender).
      await b.cdp.send('HeapProfiler.collectGarbage');
      const x = await b.page.evaluate(([kk, nn]) => window.bench.batched(kk, nn), [k, n]);
      if (r >= 0) times[k].push(x.totalMs); // round -1 warms up
      if (r >= 0 && x.issueMs !== undefined) (issue[k] ??= []).push(x.issueMs);
    }
  }
  const out = { rounds };
  for (const k of kinds)
    out[k] = {
      perSecond: round((n * 1000) / median(times[k]), 0),
      ms: round(median(times[k]), 1),
      msRange: [round(Math.min(...times[k]), 1), round(Math.max(...times[k]), 1)],
      ...(issue[k] && { issueMs: round(median(issue[k]), 1) }),
    };
  const pairs = (a, z) => times[z].map((t, i) => t / times[a][i]);
  const compared = [
    ['outbox-lean', 'raw'],
    ['outbox-default', 'raw'],
    // Diagnostics: the store alone against a raw batch; what the v3 indexes (seq; heads) cost a
    // raw batch, and the outbox against a raw batch that maintains them too.
    ['store', 'raw'],
    ['raw-indexed', 'raw'],
    ['outbox-default', 'raw-indexed'],
    ['raw-heads', 'raw'],
    ['raw-heads-put', 'raw'],
    ['raw-commit', 'raw'],
    ['raw-packed', 'raw'],
    ['raw-packed-ids', 'raw'],
    ['outbox-default', 'raw-packed'],
    ['raw-again', 'raw'],
    ['raw-v6', 'raw'],
    ['raw-v6-nometa', 'raw'],
    ['raw-v6-norest', 'raw'],
    ['raw-v6-joined', 'raw'],
    ['raw-v6-noindex', 'raw'],
    ['raw-v6-noindex-nometa', 'raw'],
    ['store-put', 'raw'],
    ['outbox-follower', 'raw'],
    ['outbox-fakestore', 'raw'],
    ['outbox-nocoord', 'raw'],
    ['outbox-notranscript', 'raw'],
    // BENCH_BEFORE (see bench/lib/compile.mjs): another checkout's contender beside this one's.
    ...kinds
      .filter((k) => k.startsWith('before-'))
      .flatMap((k) => [
        [k, 'raw'],
        [k.slice(7), k],
      ]),
  ].filter(([a, z]) => kinds.includes(a) && kinds.includes(z));
  out.ratios = {};
  out.ratioSpread = {};
  // Two more estimators beside the median of paired ratios: the ratio of the median times, and
  // of the fastest times (the least disturbed batch of each; on a loaded machine the steadiest).
  out.ratioOfMedians = {};
  out.ratioOfFastest = {};
  for (const [a, z] of compared) {
    const name = `${a} / ${z}`;
    out.ratios[name] = round(median(pairs(a, z)), 3);
    out.ratioSpread[name] = spread(pairs(a, z));
    out.ratioOfMedians[name] = round(median(times[z]) / median(times[a]), 3);
    out.ratioOfFastest[name] = round(Math.min(...times[z]) / Math.min(...times[a]), 3);
  }
  result.batched[n] = out;
  console.error(`enqueue batched ${n}: ${((Date.now() - t) / 1000).toFixed(0)} s`);
}

await b.close();
result.loadAverage = { before: loadBefore, after: loadavg().map((x) => round(x, 2)) };
await emit(result);
