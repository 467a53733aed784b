// `npm run bench`: every measurement in its own process, one after the other (they would disturb
// each other), then one table. Raw results go to bench/results.json; BENCHMARKS.md explains them.
// BENCH_QUICK=1 runs a smaller smoke version (not for the figures).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { cpus, totalmem, loadavg } from 'node:os';
import { join } from 'node:path';
import { compileNode, outDir, root } from './lib/compile.mjs';
import { chromiumVersion } from './lib/browser.mjs';
import { round } from './lib/stats.mjs';

const started = Date.now();
await compileNode(); // each browser measurement builds its page itself (bench/lib/browser.mjs)

const scripts = [
  ['enqueue', []],
  ['recovery', ['--expose-gc']],
  ['drain', []],
  ['conversations', []],
  ['idle', []],
  ['size', []],
  ['encryption', []],
  ['pg-workers', []],
];
const results = {};
for (const [name, flags] of scripts) {
  const out = join(outDir, `${name}.json`);
  rmSync(out, { force: true });
  const t = Date.now();
  process.stderr.write(`bench: ${name}…\n`);
  const r = spawnSync(process.execPath, [...flags, join(root, 'bench', `${name}.mjs`)], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, BENCH_OUT: out },
  });
  results[name] =
    r.status === 0 ? JSON.parse(readFileSync(out, 'utf8')) : { error: `exit ${r.status}` };
  results[name].seconds = Math.round((Date.now() - t) / 1000);
}

const nproc = (() => {
  try {
    return execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    return String(cpus().length);
  }
})();
const cpuModel = (() => {
  try {
    return /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
})();
const machine = {
  nproc,
  cpu: cpuModel,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  chromium: chromiumVersion(),
  loadAverageAtEnd: loadavg()
    .map((x) => x.toFixed(1))
    .join(' '),
  totalSeconds: Math.round((Date.now() - started) / 1000),
  quick: process.env.BENCH_QUICK === '1',
};
writeFileSync(
  join(root, 'bench', 'results.json'),
  JSON.stringify({ machine, results }, null, 2) + '\n',
);

// ---- the table -------------------------------------------------------------------------------
const rows = [];
const add = (area, what, figure, target = '', ok = undefined) =>
  rows.push([area, what, String(figure), target, ok === undefined ? '' : ok ? 'met' : 'MISSED']);
const get = (o, ...path) => path.reduce((x, k) => (x === undefined ? undefined : x[k]), o);

const e = results.enqueue;
for (const [n, s] of Object.entries(e.sequential ?? {})) {
  for (const [k, v] of Object.entries(s)) {
    if (k === 'ratios' || k === 'ratioSpread') continue;
    add(`enqueue ${n}`, k, `${v.perSecond}/s  p50 ${v.p50Ms} ms  p99 ${v.p99Ms} ms`);
  }
  for (const [k, v] of Object.entries(s.ratios)) {
    const target = k.endsWith('/ raw') ? 0.9 : 2; // issue 15: awaited send() ≥ 0.9× raw
    const judged = k.startsWith('outbox-lean') || k.startsWith('outbox-default');
    add(
      `enqueue ${n}`,
      k,
      `${v}×`,
      judged ? `≥ ${target}×` : 'diagnostic',
      judged ? v >= target : undefined,
    );
  }
}
for (const [n, s] of Object.entries(e.batched ?? {})) {
  for (const k of ['raw', 'outbox-lean', 'outbox-default'])
    add(`batched ${n}`, k, `${s[k].perSecond}/s`);
  for (const [k, v] of Object.entries(s.ratios)) {
    const judged = k.startsWith('outbox-') && k.endsWith('/ raw');
    const r = s.ratioSpread?.[k];
    const figure = r ? `${v}× (quartiles ${r.p25}–${r.p75}, range ${r.min}–${r.max})` : `${v}×`;
    add(`batched ${n}`, k, figure, judged ? '≥ 0.8×' : 'diagnostic', judged ? v >= 0.8 : undefined);
  }
}
for (const env of ['browser', 'node']) {
  const r = get(results, 'recovery', env);
  if (!r) continue;
  for (const [n, v] of Object.entries(r)) {
    if (n === 'ratios' || n === 'seeded' || n === 'gcExposed') continue;
    add(`recovery ${env}`, `${n} pending`, `first send ${v.firstMs} ms  heap +${v.heapMB} MB`);
  }
  for (const [k, v] of Object.entries(r.ratios ?? {})) {
    add(
      `recovery ${env}`,
      k,
      `${v}×`,
      k.startsWith('first') ? '≤ 2×' : 'not ∝ queue',
      k.startsWith('first') ? v <= 2 : v < 10,
    );
  }
}
const h = get(results, 'drain', 'http');
if (h && !h.error) {
  add(
    'drain http',
    `rate (limit ${h.limitPerSecond}/s: max(${h.concurrency}/${h.rttMs} ms, ideal client))`,
    `${h.perSecond}/s = ${h.ratioToLimit}×`,
    '≥ 0.9×',
    h.ratioToLimit >= 0.9,
  );
  add(
    'drain http',
    `  vs concurrency / RTT alone (${h.concurrencyOverRttPerSecond}/s), the issue's definition`,
    `${round(h.perSecond / h.concurrencyOverRttPerSecond, 3)}×`,
  );
  add(
    'drain http',
    `ideal client (${h.concurrency} workers, no storage)`,
    `${h.idealClientPerSecond}/s; outbox ${h.ratioToIdealClient}×`,
  );
  add(
    'drain http',
    'first delivery after reconnect',
    `${h.firstDeliveryMs} ms (max ${h.firstDeliveryMaxMs})`,
    '≤ 100 ms',
    h.firstDeliveryMaxMs <= 100,
  );
  add(
    'drain http',
    'duplicates / missing / in order',
    `${h.duplicates} / ${h.missing} / ${h.ordered}`,
    '0 / 0 / true',
    h.duplicates === 0 && h.missing === 0 && h.ordered,
  );
}
const g = get(results, 'drain', 'guest');
if (g && !g.error) {
  add(
    'drain guest',
    `rate (limit ${g.limitPerSecond}/s)`,
    `${g.perSecond}/s = ${g.ratioToLimit}×`,
    '≥ 0.9×',
    g.ratioToLimit >= 0.9,
  );
  add(
    'drain guest',
    `first delivery after reconnect (${g.firstDeliveries?.length ?? 1} outages)`,
    `median ${g.firstDeliveryMs} ms (max ${g.firstDeliveryMaxMs ?? g.firstDeliveryMs}; ${(g.firstDeliveries ?? []).join(', ')})`,
    '≤ 100 ms',
    (g.firstDeliveryMaxMs ?? g.firstDeliveryMs) <= 100,
  );
  add(
    'drain guest',
    'duplicates / missing / in order',
    `${g.duplicates} / ${g.missing} / ${g.ordered}`,
    '0 / 0 / true',
    g.duplicates === 0 && g.missing === 0 && g.ordered,
  );
} else if (g) add('drain guest', 'error', g.error);
const cv = results.conversations;
if (cv && !cv.error) {
  for (const [n, v] of Object.entries(cv.shapes)) {
    add(
      'drain conversations',
      `${cv.messages} msgs over ${n} conversations (SQLite, instant transport)`,
      `${v.perSecond}/s, ${v.ms} ms; reordered ${v.reordered}, left ${v.left}`,
    );
  }
  const shapes = Object.keys(cv.shapes);
  add(
    'drain conversations',
    `throughput ${shapes[shapes.length - 1]}-conv / ${shapes[0]}-conv`,
    `${cv.ratio}×`,
    '≥ 0.8×',
    cv.ratio >= 0.8,
  );
} else if (cv) add('drain conversations', 'error', cv.error);
for (const env of ['node', 'browser']) {
  const r = get(results, 'idle', env);
  if (!r) continue;
  add(
    `idle ${env}`,
    'empty outbox: timers fired / min',
    r.outbox.firedPerMinute,
    '0',
    r.outbox.firedPerMinute === 0,
  );
  add(`idle ${env}`, 'tutorial polling: timers fired / min', r.tutorial.firedPerMinute, '(12)');
}
for (const [k, v] of Object.entries(get(results, 'size', 'rows') ?? {})) {
  const budget = k.includes('guest') ? results.size.budgetBytes : undefined;
  add(
    'size',
    k,
    `${v.min} B min, ${v.gzip} B gzip`,
    budget ? `≤ ${budget} B` : '',
    budget ? v.gzip <= budget : undefined,
  );
}

const enc = results.encryption;
for (const [env, key, plain, sealed] of [
  [
    "Chromium IndexedDB, 'x'.repeat(200)",
    'chromiumIndexedDb',
    'outbox-default',
    'outbox-encrypted',
  ],
  ['Chromium IndexedDB, chat texts', 'chromiumIndexedDbChat', 'outbox-default', 'outbox-encrypted'],
  ['Node SQLite, TEXT', 'nodeSqlite', 'plain', 'encrypted'],
  ['Node SQLite, chat texts', 'nodeSqliteChat', 'plain', 'encrypted'],
]) {
  const r = get(enc, key);
  if (r === undefined) continue;
  const range = (x) => (x ? ` (${x.join('-')})` : '');
  // The target is the cost per send() (time for the sends / their number: chunk and mean);
  // the median latency is printed beside it, not judged (it leaves out the tail both share, so
  // the same added microseconds weigh more in it).
  add(
    `encryption ${env}`,
    `cost per send() with / without encryption, median of ${enc.runs ?? 1} runs (range): chunk; mean`,
    `${r.chunkRatio}x${range(r.chunkRatioRange)}; ${r.ratio}x${range(r.ratioRange)}`,
    '≤ 1.3x',
    r.chunkRatio <= 1.3 && r.ratio <= 1.3,
  );
  add(
    `encryption ${env}`,
    'median latency (p50) with / without encryption (reported, not judged)',
    `${r.p50Ratio}x${range(r.p50RatioRange)} (${r[sealed].p50Ms} vs ${r[plain].p50Ms} ms)`,
    '',
    undefined,
  );
}

const pw = results['pg-workers'];
if (pw && !pw.error) {
  for (const [n, v] of Object.entries(pw.workers)) {
    add(
      `pg workers ${n}`,
      `${pw.messages} msgs / ${pw.conversations} conv, rate vs ${n} × ${pw.concurrency} / ${pw.rttMs} ms`,
      `${v.perSecond}/s = ${v.ratio}× (load ${v.loadAverage}); dup ${v.duplicates}, reordered ${v.reordered}, missing ${v.missing}`,
      n === '4' ? '≥ 0.8×; 0 / 0 / 0' : '0 / 0 / 0',
      (n !== '4' || v.ratio >= 0.8) && v.duplicates + v.reordered + v.missing === 0,
    );
  }
  const rows = Object.keys(pw.claim).filter((k) => k !== 'ratio');
  add(
    'pg claim',
    `claim cost ${rows.join(' vs ')} queued rows (median; buffers hit)`,
    rows.map((k) => `${pw.claim[k].medianMs} ms, ${pw.claim[k].bufferHits}`).join(' vs '),
    'flat',
    pw.claim[rows[rows.length - 1]].bufferHits <= 2 * pw.claim[rows[0]].bufferHits,
  );
} else if (pw) add('pg workers', 'error', pw.error);

const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows)
  console.log(
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
console.log(
  `\n${machine.nproc} cores, ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.chromium}; ` +
    `load average at end ${machine.loadAverageAtEnd}; ${machine.totalSeconds} s in all`,
);
