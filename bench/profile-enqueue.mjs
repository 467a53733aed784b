// Where the time of one awaited send() goes, in headless Chromium (issue 15): the DevTools
// protocol's sampling profiler (Profiler.start/stop over playwright-core's CDP session) around
// sequential awaited writes, for the raw single-put IndexedDB reference, the store alone and the
// outbox in its default configuration. The page is built unminified so that every sample's line
// maps back to its source module (esbuild's `// path` markers in the bundle); the sampler itself
// slows everything down a little, so the per-write figures here are larger than bench/enqueue.mjs's
// and are read as shares, not as speeds.
//
//   node bench/profile-enqueue.mjs                 (PROFILE_N writes per round, PROFILE_ROUNDS rounds)
//   PROFILE_MODE=burst node bench/profile-enqueue.mjs   bursts instead: PROFILE_N writes issued at
//     once, PROFILE_BURSTS times per round (raw: one transaction of N puts; store: one append of N;
//     outbox: N send() calls, group-committed); the figures are per write as well
//   PROFILE_MODE=batched node bench/profile-enqueue.mjs   the burst exactly as bench/enqueue.mjs
//     times it: every burst on a fresh database opened 100 ms before (window.bench.batched),
//     PROFILE_BURSTS per contender and round, interleaved; only the timed burst is recorded
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { openBench } from './lib/browser.mjs';
import { outDir } from './lib/compile.mjs';
import { emit, round } from './lib/stats.mjs';

const N = Number(process.env.PROFILE_N ?? 2000);
const ROUNDS = Number(process.env.PROFILE_ROUNDS ?? 3);
const KINDS = (process.env.PROFILE_KINDS ?? 'raw,store,outbox-default').split(',');
const INTERVAL_US = 50;
const BATCHED = process.env.PROFILE_MODE === 'batched';
const BURST = process.env.PROFILE_MODE === 'burst' || BATCHED;
const BURSTS = Number(process.env.PROFILE_BURSTS ?? 5);

const loadBefore = loadavg().map((x) => round(x, 2));
const b = await openBench({ minify: false });

// Line (0-based) → source module, from the `// src/…` comments esbuild writes before each module.
const bundle = readFileSync(join(outDir, 'page.js'), 'utf8').split('\n');
const moduleAt = [];
let current = '(bundle)';
for (const line of bundle) {
  // Another checkout's modules (BENCH_BEFORE) carry a path outside this one: labelled `before:`.
  const m = /^\/\/ (\S*?)((?:src|node_modules|bench|simulator)\/\S+)$/.exec(line);
  if (m) {
    const path = m[2].replace(/^node_modules\/([^/]+)\/.*/, '$1 (package)');
    current = m[1] !== '' && !m[2].startsWith('node_modules') ? `before: ${path}` : path;
  }
  moduleAt.push(current);
}

/** IndexedDB's own API, called from JS: its time is the renderer side of each request. */
const IDB_API = new Set([
  'put',
  'add',
  'get',
  'delete',
  'transaction',
  'objectStore',
  'index',
  'openCursor',
  'commit',
  'abort',
]);

function category(frame) {
  const { functionName: fn, url, lineNumber } = frame;
  if (fn === '(idle)') return 'idle: waiting for the IndexedDB backend (browser process)';
  if (fn === '(program)') return 'program: native work outside JS (IPC, event dispatch)';
  if (fn === '(garbage collector)') return 'garbage collector';
  if (fn === '(root)') return undefined;
  if (url === '' || url === undefined) {
    return IDB_API.has(fn) ? 'IndexedDB API calls (structured clone, IPC)' : `native: ${fn}`;
  }
  if (url.endsWith('/page.js')) return `js: ${moduleAt[lineNumber] ?? '(bundle)'}`;
  return `js: ${url}`;
}

await b.cdp.send('Profiler.enable');
await b.cdp.send('Profiler.setSamplingInterval', { interval: INTERVAL_US });

const totals = Object.fromEntries(
  KINDS.map((k) => [k, { wallMs: 0, ops: 0, byCategory: {}, byFunction: {} }]),
);

/** Profiles of console.profile()/profileEnd() in the page (PROFILE_MODE=batched). */
const consoleProfiles = [];
b.cdp.on('Profiler.consoleProfileFinished', (e) => consoleProfiles.push(e.profile));

/** The profile of `PROFILE_BURSTS` timed bursts of `kind`, each on a fresh database. */
async function batchedProfiles(kind) {
  await b.page.evaluate(([k, n]) => window.bench.batched(k, n), [kind, N]); // warm up
  let totalMs = 0;
  const profiles = [];
  for (let k = 0; k < BURSTS; k++) {
    await b.cdp.send('HeapProfiler.collectGarbage');
    consoleProfiles.length = 0;
    totalMs += (await b.page.evaluate(([kk, n]) => window.bench.batched(kk, n, true), [kind, N]))
      .totalMs;
    while (consoleProfiles.length === 0) await new Promise((r) => setTimeout(r, 5));
    profiles.push(consoleProfiles[0]);
  }
  return { totalMs, profiles };
}

for (let r = 0; r < ROUNDS; r++) {
  for (let i = 0; i < KINDS.length; i++) {
    const kind = KINDS[(i + r) % KINDS.length];
    if (BATCHED) {
      const { totalMs, profiles } = await batchedProfiles(kind);
      for (const profile of profiles) add(kind, profile);
      totals[kind].wallMs += totalMs;
      totals[kind].ops += N * BURSTS;
      continue;
    }
    const id = await b.page.evaluate((k) => window.bench.begin(k), kind);
    const write = BURST
      ? ([s, n, times]) =>
          (async () => {
            let totalMs = 0;
            for (let k = 0; k < times; k++) totalMs += (await window.bench.burst(s, n)).totalMs;
            return { totalMs };
          })()
      : ([s, n]) => window.bench.chunk(s, n);
    await b.page.evaluate(write, [id, BURST ? N : 300, 1]); // warm up
    await b.cdp.send('Profiler.start');
    const x = await b.page.evaluate(write, [id, N, BURSTS]);
    const { profile } = await b.cdp.send('Profiler.stop');
    await b.page.evaluate((s) => window.bench.end(s), id);
    totals[kind].wallMs += x.totalMs;
    totals[kind].ops += BURST ? N * BURSTS : N;
    add(kind, profile);
  }
}
await b.close();

/** Adds a profile's self times to `kind`'s totals, by category and by function. */
function add(kind, profile) {
  const t = totals[kind];
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let s = 0; s < profile.samples.length; s++) {
    const dt = profile.timeDeltas[s + 1] ?? 0;
    self.set(profile.samples[s], (self.get(profile.samples[s]) ?? 0) + dt);
  }
  for (const [nodeId, us] of self) {
    const frame = byId.get(nodeId).callFrame;
    const c = category(frame);
    if (c === undefined) continue;
    t.byCategory[c] = (t.byCategory[c] ?? 0) + us;
    if (c.startsWith('js:') || c.startsWith('IndexedDB') || c.startsWith('native')) {
      const f = `${frame.functionName || '(anonymous)'} @ ${c.replace(/^js: /, '')}:${frame.lineNumber + 1}`;
      t.byFunction[f] = (t.byFunction[f] ?? 0) + us;
    }
  }
}

const result = {
  browser: b.version,
  mode: BATCHED
    ? `burst of ${N} on a fresh database, ${BURSTS} per round`
    : BURST
      ? `burst of ${N}, ${BURSTS} per round`
      : `${N} sequential awaited writes per round`,
  rounds: ROUNDS,
  intervalUs: INTERVAL_US,
  kinds: {},
};
for (const k of KINDS) {
  const t = totals[k];
  const perOp = (us) => round(us / t.ops, 1);
  const cats = Object.entries(t.byCategory).sort((a, z) => z[1] - a[1]);
  const jsUs = cats.filter(([c]) => !c.startsWith('idle')).reduce((a, [, us]) => a + us, 0);
  result.kinds[k] = {
    usPerWrite: round((t.wallMs * 1000) / t.ops, 1),
    rendererBusyUsPerWrite: perOp(jsUs),
    categories: Object.fromEntries(cats.map(([c, us]) => [c, perOp(us)])),
    topFunctions: Object.fromEntries(
      Object.entries(t.byFunction)
        .sort((a, z) => z[1] - a[1])
        .slice(0, 20)
        .map(([f, us]) => [f, perOp(us)]),
    ),
  };
}
result.loadAverage = { before: loadBefore, after: loadavg().map((x) => round(x, 2)) };
await emit(result);
