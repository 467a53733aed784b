// 1. Durable enqueue in headless Chromium with real IndexedDB.
//
// Sequential: every contender is opened side by side (fresh database each) and driven in
// alternating chunks of CHUNK awaited writes, rotating the order every chunk, so all of them see
// the same machine noise. Latency = one awaited call until its transaction committed.
// Batched: N calls issued at once then awaited (the outbox group-commits them), against N puts in
// one raw transaction; contenders alternate, repeated BATCH_ROUNDS times, medians.
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
const BATCH_ROUNDS = Number(process.env.BENCH_BATCH_ROUNDS ?? (quick ? 2 : 5));

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
  const ratio = (a, z) =>
    round(median(perKind[a].chunks.map((t, i) => perKind[z].chunks[i] / t)), 3);
  out.ratios = {};
  for (const k of kinds.filter((k) => k !== 'raw' && k !== 'workbox')) {
    out.ratios[`${k} / raw`] = ratio(k, 'raw');
    if (kinds.includes('workbox')) out.ratios[`${k} / workbox`] = ratio(k, 'workbox');
  }
  return out;
}

for (const [n, kinds] of PLAN) {
  const t = Date.now();
  result.sequential[n] = await sequential(n, kinds, n === 1000 ? ROUNDS_1K : 1);
  console.error(`enqueue sequential ${n}: ${((Date.now() - t) / 1000).toFixed(0)} s`);
}

for (const n of BATCH_SIZES) {
  const kinds = ['raw', 'raw-indexed', 'outbox-lean', 'outbox-default'];
  const times = Object.fromEntries(kinds.map((k) => [k, []]));
  for (let r = 0; r < BATCH_ROUNDS; r++) {
    for (let i = 0; i < kinds.length; i++) {
      const k = kinds[(i + r) % kinds.length];
      const x = await b.page.evaluate(([kk, nn]) => window.bench.batched(kk, nn), [k, n]);
      times[k].push(x.totalMs);
    }
  }
  const out = {};
  for (const k of kinds)
    out[k] = { perSecond: round((n * 1000) / median(times[k]), 0), ms: round(median(times[k]), 1) };
  const ratio = (a, z) => round(median(times[z].map((t, i) => t / times[a][i])), 3);
  out.ratios = {
    'outbox-lean / raw': ratio('outbox-lean', 'raw'),
    'outbox-default / raw': ratio('outbox-default', 'raw'),
    // Diagnostics: what the outbox's two indexes (seq; heads) cost a raw batch, and the outbox
    // against a raw batch that maintains them too.
    'raw-indexed / raw': ratio('raw-indexed', 'raw'),
    'outbox-default / raw-indexed': ratio('outbox-default', 'raw-indexed'),
  };
  result.batched[n] = out;
}

await b.close();
await emit(result);
