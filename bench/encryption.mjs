// Encryption at rest: the cost of one awaited send() with `encryption` as a ratio to the same
// outbox without it (target <= 1.3x). Browser: headless Chromium, real IndexedDB, the README's
// default configuration, generated key. Node: SQLite, an imported key.
//
// One invocation makes RUNS independent runs per half (fresh outboxes, fresh files each run).
// In a run the two contenders alternate in chunks of CHUNK awaited sends, who goes first
// alternating, so both see the same machine noise; WARMUP sends of each go first and are not
// counted (JIT, first pages of the file). Three ratios per run, encrypted / plain:
//   chunkRatio: median over the run's adjacent chunk pairs of the chunks' wall times (the cost of
//               a send, robust to the scheduling stalls that land in one chunk of a pair);
//   ratio:      mean send time; p50Ratio: median send latency.
// The result gives each ratio's median over the runs and its range (min-max), each run's figures
// and the load average before and after each run. `BENCH_ONLY=node` or `=browser`: one half.
// `BENCH_RUNS`, `BENCH_N` (counted sends per contender per run) override the defaults.
//
// Two sets of texts, each half measured with both (`BENCH_TEXTS=default` or `=chat`: one):
//   default: one text for every send, the worst case. Chromium: 'x'.repeat(200) (the page's
//            TEXT), which Chromium's IndexedDB compresses to almost nothing in the plain outbox
//            while ciphertext does not compress; Node: TEXT below (SQLite compresses nothing).
//   chat:    bench/lib/chatText.mjs, 512 fixed chat messages of 10-300 characters (seeded), send
//            i of each contender sends message i: the same texts for plain and encrypted.
// The result's `chromiumIndexedDb` / `nodeSqlite` are the default texts, `…Chat` the chat texts.
// The browser page is served cross-origin isolated: its performance.now() steps are 5 µs, not
// 100 µs (a p50 of 0.3-0.5 ms was 3-5 steps, so its ratio could only be 1.25, 1.33, 1.5, ...).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openBench } from './lib/browser.mjs';
import { compileNode } from './lib/compile.mjs';
import { emit, median, quantile, round } from './lib/stats.mjs';
import { CHAT_TEXTS } from './lib/chatText.mjs';

const quick = process.env.BENCH_QUICK === '1';
const RUNS = Number(process.env.BENCH_RUNS ?? (quick ? 1 : 5));
const N = Number(process.env.BENCH_N ?? (quick ? 400 : 3000));
const CHUNK = 100;
const WARMUP = quick ? 100 : 300;
const only = process.env.BENCH_ONLY;
const TEXT_SETS = (process.env.BENCH_TEXTS ?? 'default,chat').split(',');
const TEXT = 'Hello, I would like to know where my order is. '.repeat(3);

const load = () => loadavg().map((x) => round(x, 1));

/** One run's figures from its chunks: `chunks[k]` = [{ ms, lat }] in the order they ran. */
function runFigures(chunks, plain, sealed, loadBefore) {
  const kind = (k) => {
    const lat = chunks[k].flatMap((c) => c.lat);
    const ms = chunks[k].reduce((a, c) => a + c.ms, 0);
    return {
      meanMs: round(ms / lat.length, 4),
      p50Ms: round(quantile(lat, 0.5), 4),
      p99Ms: round(quantile(lat, 0.99), 3),
    };
  };
  const a = kind(plain);
  const b = kind(sealed);
  const pairs = chunks[sealed].map((c, i) => c.ms / chunks[plain][i].ms);
  return {
    loadAverage: [loadBefore, load()],
    [plain]: a,
    [sealed]: b,
    chunkRatio: round(median(pairs), 3),
    ratio: round(b.meanMs / a.meanMs, 3),
    p50Ratio: round(b.p50Ms / a.p50Ms, 3),
  };
}

/** Median and range over the runs, plus the runs themselves. */
function overRuns(runs, plain, sealed) {
  const stat = (f) => {
    const xs = runs.map(f);
    return {
      median: round(median(xs), 3),
      range: [round(Math.min(...xs), 3), round(Math.max(...xs), 3)],
    };
  };
  const chunk = stat((r) => r.chunkRatio);
  const mean = stat((r) => r.ratio);
  const p50 = stat((r) => r.p50Ratio);
  return {
    runs,
    // The figures: medians over the runs.
    chunkRatio: chunk.median,
    chunkRatioRange: chunk.range,
    ratio: mean.median,
    ratioRange: mean.range,
    p50Ratio: p50.median,
    p50RatioRange: p50.range,
    [plain]: { p50Ms: round(median(runs.map((r) => r[plain].p50Ms)), 4) },
    [sealed]: { p50Ms: round(median(runs.map((r) => r[sealed].p50Ms)), 4) },
  };
}

/** Alternating chunks of `one(kind)` awaited sends; warm-up first. */
async function alternate(kinds, chunkOf) {
  for (const k of kinds) await chunkOf(k, WARMUP);
  const chunks = Object.fromEntries(kinds.map((k) => [k, []]));
  for (let c = 0; c < N / CHUNK; c++) {
    for (const k of c % 2 === 0 ? kinds : [...kinds].reverse()) {
      chunks[k].push(await chunkOf(k, CHUNK));
    }
  }
  return chunks;
}

// ---- browser ----------------------------------------------------------------------------------
async function runBrowser() {
  const b = await openBench({ isolated: true });
  if (!(await b.page.evaluate(() => crossOriginIsolated))) throw new Error('page not isolated');
  const out = { version: b.version };
  for (const texts of TEXT_SETS) {
    out[texts === 'chat' ? 'chromiumIndexedDbChat' : 'chromiumIndexedDb'] = await browserRuns(
      b,
      texts,
    );
  }
  await b.close();
  return out;
}

async function browserRuns(b, texts) {
  const kinds = ['outbox-default', 'outbox-encrypted'];
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const before = load();
    const ids = {};
    for (const k of kinds) ids[k] = await b.page.evaluate((kk) => window.bench.begin(kk), k);
    const chunks = await alternate(kinds, async (k, n) => {
      const x = await b.page.evaluate(
        ([id, cnt, t]) => window.bench.chunk(id, cnt, t),
        [ids[k], n, texts],
      );
      return { ms: x.totalMs, lat: x.lat };
    });
    for (const k of kinds) await b.page.evaluate((id) => window.bench.end(id), ids[k]);
    runs.push(runFigures(chunks, ...kinds, before));
  }
  return { texts: texts === 'chat' ? 'chat' : "'x'.repeat(200)", ...overRuns(runs, ...kinds) };
}

// ---- Node: SQLite -----------------------------------------------------------------------------
async function runNode() {
  const lib = await import(pathToFileURL(await compileNode()).href);
  const dir = mkdtempSync(join(tmpdir(), 'bench-enc-'));
  const key = await crypto.subtle.importKey(
    'raw',
    crypto.getRandomValues(new Uint8Array(32)),
    'AES-GCM',
    false,
    ['encrypt', 'decrypt'],
  );
  // Never delivers (the entries stay at rest, as in an outage); settles when the outbox closes.
  const never = {
    name: 'never',
    send: (_e, ctx) =>
      new Promise((resolve) =>
        ctx.signal.addEventListener('abort', () =>
          resolve({ kind: 'offline', error: { code: 'network', message: 'closed' } }),
        ),
      ),
  };
  const open = (name, encryption) =>
    lib.createOutbox({
      transport: never,
      store: lib.sqliteStore({ path: join(dir, `${name}.db`) }),
      coordinator: false,
      logger: { debug() {}, warn() {}, error() {} },
      ...(encryption ? { encryption: { key } } : {}),
    });
  const runs = async (texts) => {
    const list = texts === 'chat' ? CHAT_TEXTS : [TEXT];
    const out = [];
    for (let r = 0; r < RUNS; r++) {
      const before = load();
      const outboxes = {
        plain: await open(`p${texts}${r}`, false),
        encrypted: await open(`e${texts}${r}`, true),
      };
      const sent = { plain: 0, encrypted: 0 };
      const chunks = await alternate(['plain', 'encrypted'], async (k, n) => {
        const lat = new Array(n);
        const t0 = performance.now();
        for (let i = 0; i < n; i++) {
          const text = list[sent[k]++ % list.length];
          const t = performance.now();
          await outboxes[k].send({ text, metadata: { fromId: 'visitor-1' } });
          lat[i] = performance.now() - t;
        }
        return { ms: performance.now() - t0, lat };
      });
      for (const o of Object.values(outboxes)) await o.close();
      out.push(runFigures(chunks, 'plain', 'encrypted', before));
    }
    return {
      texts: texts === 'chat' ? 'chat' : JSON.stringify(TEXT),
      ...overRuns(out, 'plain', 'encrypted'),
    };
  };
  const result = {};
  try {
    for (const texts of TEXT_SETS) {
      result[texts === 'chat' ? 'nodeSqliteChat' : 'nodeSqlite'] = await runs(texts);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

const loadBefore = load();
const b = only === 'node' ? {} : await runBrowser();
const n = only === 'browser' ? {} : await runNode();

const line = (name, r) =>
  r &&
  console.error(
    `${name}: send() with / without encryption, median of ${RUNS} runs (range): ` +
      `chunk ${r.chunkRatio}x (${r.chunkRatioRange.join('-')}), mean ${r.ratio}x (${r.ratioRange.join('-')}), ` +
      `p50 ${r.p50Ratio}x (${r.p50RatioRange.join('-')}); load ${r.runs[0].loadAverage[0].join(' ')} -> ${r.runs.at(-1).loadAverage[1].join(' ')}`,
  );
line("Chromium IndexedDB, 'x'.repeat(200)", b.chromiumIndexedDb);
line('Chromium IndexedDB, chat texts', b.chromiumIndexedDbChat);
line('Node SQLite, TEXT', n.nodeSqlite);
line('Node SQLite, chat texts', n.nodeSqliteChat);

await emit({
  browser: b.version,
  runs: RUNS,
  messagesPerRun: N,
  chromiumIndexedDb: b.chromiumIndexedDb,
  chromiumIndexedDbChat: b.chromiumIndexedDbChat,
  nodeSqlite: n.nodeSqlite,
  nodeSqliteChat: n.nodeSqliteChat,
  target: 1.3,
  loadAverageBefore: loadBefore,
  loadAverage: load(),
});
