// Encryption at rest: the cost of one awaited send() with `encryption` as a ratio to the same
// outbox without it (target <= 1.3x). Browser: headless Chromium, real IndexedDB, the README's
// default configuration, generated key; the two contenders alternate in chunks of CHUNK awaited
// sends, rotating who goes first, so both see the same machine noise. Node: SQLite, an imported
// key, the same alternation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openBench } from './lib/browser.mjs';
import { compileNode } from './lib/compile.mjs';
import { emit, quantile, round } from './lib/stats.mjs';

const quick = process.env.BENCH_QUICK === '1';
const N = quick ? 400 : 2000;
const ROUNDS = quick ? 1 : 3;
const CHUNK = 100;
/** `BENCH_ONLY=node` or `=browser`: one half only (both by default). */
const only = process.env.BENCH_ONLY;
const TEXT = 'Hello, I would like to know where my order is. '.repeat(3);

function summarize(perKind, n) {
  const out = {};
  for (const [k, p] of Object.entries(perKind)) {
    out[k] = {
      perSecond: round((n * 1000) / p.ms, 0),
      meanMs: round(p.ms / n, 4),
      p50Ms: round(quantile(p.lat, 0.5), 3),
      p99Ms: round(quantile(p.lat, 0.99), 3),
    };
  }
  return out;
}

// ---- browser ----------------------------------------------------------------------------------
async function runBrowser() {
  const b = await openBench();
  const kinds = ['outbox-default', 'outbox-encrypted'];
  const perKind = Object.fromEntries(kinds.map((k) => [k, { ms: 0, lat: [] }]));
  for (let r = 0; r < ROUNDS; r++) {
    const ids = {};
    for (const k of kinds) ids[k] = await b.page.evaluate((kk) => window.bench.begin(kk), k);
    for (let c = 0; c < N / CHUNK; c++) {
      const order = c % 2 === 0 ? kinds : [...kinds].reverse();
      for (const k of order) {
        const x = await b.page.evaluate(
          ([id, cnt]) => window.bench.chunk(id, cnt),
          [ids[k], CHUNK],
        );
        perKind[k].ms += x.totalMs;
        perKind[k].lat.push(...x.lat);
      }
    }
    for (const k of kinds) await b.page.evaluate((id) => window.bench.end(id), ids[k]);
  }
  const browser = summarize(perKind, N * ROUNDS);
  const browserRatio = round(
    browser['outbox-encrypted'].meanMs / browser['outbox-default'].meanMs,
    3,
  );
  const browserP50Ratio = round(
    browser['outbox-encrypted'].p50Ms / browser['outbox-default'].p50Ms,
    3,
  );
  const version = b.version;
  await b.close();
  return {
    version,
    chromiumIndexedDb: { ...browser, ratio: browserRatio, p50Ratio: browserP50Ratio },
  };
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
  const node = { plain: { ms: 0, lat: [] }, encrypted: { ms: 0, lat: [] } };
  for (let r = 0; r < ROUNDS; r++) {
    const outboxes = { plain: await open(`p${r}`, false), encrypted: await open(`e${r}`, true) };
    for (let c = 0; c < N / CHUNK; c++) {
      const order = c % 2 === 0 ? ['plain', 'encrypted'] : ['encrypted', 'plain'];
      for (const k of order) {
        const t0 = performance.now();
        for (let i = 0; i < CHUNK; i++) {
          const t = performance.now();
          await outboxes[k].send({ text: TEXT, metadata: { fromId: 'visitor-1' } });
          node[k].lat.push(performance.now() - t);
        }
        node[k].ms += performance.now() - t0;
      }
    }
    for (const o of Object.values(outboxes)) await o.close();
  }
  rmSync(dir, { recursive: true, force: true });
  const sqlite = summarize(node, N * ROUNDS);
  const sqliteRatio = round(sqlite.encrypted.meanMs / sqlite.plain.meanMs, 3);
  const sqliteP50Ratio = round(sqlite.encrypted.p50Ms / sqlite.plain.p50Ms, 3);
  return { nodeSqlite: { ...sqlite, ratio: sqliteRatio, p50Ratio: sqliteP50Ratio } };
}

const loadBefore = loadavg().map((x) => round(x, 1));
const b = only === 'node' ? {} : await runBrowser();
const n = only === 'browser' ? {} : await runNode();

await emit({
  browser: b.version,
  messages: N * ROUNDS,
  chromiumIndexedDb: b.chromiumIndexedDb,
  nodeSqlite: n.nodeSqlite,
  target: 1.3,
  loadAverageBefore: loadBefore,
  loadAverage: loadavg().map((x) => round(x, 1)),
});
