// 2. Recovery at scale: N pending entries already stored (written straight into the store with
// `append` in batches, over 10 conversations); time from createOutbox() to the first entry handed
// to the transport, and the JS heap used while that outbox is open (after a full GC), minus the
// heap of the same page before createOutbox(). Chromium + IndexedDB (default configuration), and
// Node + sqliteStore. Sizes alternate, repeated ROUNDS times, medians.
// Run with --expose-gc (bench/run.mjs does) for the Node heap figures.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBench } from './lib/browser.mjs';
import { compileNode } from './lib/compile.mjs';
import { emit, median, round } from './lib/stats.mjs';

const quick = process.env.BENCH_QUICK === '1';
const SIZES = quick ? [1000, 10000] : [1000, 10000, 100000];
const ROUNDS = quick ? 2 : 3;
const CONVERSATIONS = 10;
const TEXT = 'x'.repeat(200);
const MB = 1024 * 1024;

function summarize(samples) {
  const out = {};
  for (const n of SIZES) {
    const s = samples[n];
    out[n] = {
      firstMs: round(median(s.map((x) => x.firstMs)), 1),
      createMs: round(median(s.map((x) => x.createMs)), 1),
      heapMB: round(median(s.map((x) => x.heap)) / MB, 2),
    };
    if (s[0].rawHeadsMs !== undefined) {
      out[n].rawHeadsMs = round(median(s.map((x) => x.rawHeadsMs)), 1);
      out[n].rawOpenMs = round(median(s.map((x) => x.rawOpenMs)), 1);
      out[n].storeHeadsMs = round(median(s.map((x) => x.storeHeadsMs)), 1);
    }
  }
  const big = SIZES[SIZES.length - 1];
  out.ratios = {
    [`first ${big} / first ${SIZES[0]}`]: round(out[big].firstMs / out[SIZES[0]].firstMs, 2),
    [`heap ${big} / heap ${SIZES[0]}`]: round(out[big].heapMB / out[SIZES[0]].heapMB, 2),
  };
  if (out[big].rawHeadsMs !== undefined) {
    out.ratios[`raw heads walk ${big} / ${SIZES[0]} (diagnostic)`] = round(
      out[big].rawHeadsMs / out[SIZES[0]].rawHeadsMs,
      2,
    );
  }
  return out;
}

async function browserRecovery() {
  const b = await openBench();
  const seeded = {};
  for (const n of SIZES) {
    seeded[n] = await b.page.evaluate(
      ([name, nn, c]) => window.bench.seed(name, nn, c, 5000),
      [`bench-recover-${n}`, n, CONVERSATIONS],
    );
    console.error(`recovery: seeded ${n} in ${(seeded[n].ms / 1000).toFixed(1)} s`);
  }
  const samples = Object.fromEntries(SIZES.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < SIZES.length; i++) {
      const n = SIZES[(i + r) % SIZES.length];
      await b.reload(); // a fresh page: what a reload does to a real app
      const before = await b.heapUsed();
      const x = await b.page.evaluate((name) => window.bench.recover(name), `bench-recover-${n}`);
      const after = await b.heapUsed();
      await b.page.evaluate(() => window.bench.closeOpen());
      // Diagnostics on the same database, each in a fresh page: the raw heads walk, store.heads().
      await b.reload();
      const raw = await b.page.evaluate(
        (name) => window.bench.probeHeads(name, 'raw'),
        `bench-recover-${n}`,
      );
      await b.reload();
      const st = await b.page.evaluate(
        (name) => window.bench.probeHeads(name, 'store'),
        `bench-recover-${n}`,
      );
      samples[n].push({
        ...x,
        heap: after - before,
        rawHeadsMs: raw.ms,
        rawOpenMs: raw.openMs,
        storeHeadsMs: st.ms,
      });
    }
  }
  for (const n of SIZES)
    await b.page.evaluate((name) => window.bench.deleteDb(name), `bench-recover-${n}`);
  await b.close();
  return {
    seeded: Object.fromEntries(SIZES.map((n) => [n, seeded[n].count])),
    ...summarize(samples),
  };
}

async function nodeRecovery() {
  const lib = await import(await compileNode());
  const dir = mkdtempSync(join(tmpdir(), 'outbox-bench-'));
  const gc = globalThis.gc ?? (() => {});
  try {
    for (const n of SIZES) {
      const store = lib.sqliteStore({ path: join(dir, `${n}.sqlite`) });
      await store.open();
      for (let done = 0; done < n;) {
        const batch = [];
        for (let i = 0; i < 5000 && done < n; i++, done++) {
          batch.push({
            id: crypto.randomUUID(),
            conversationId: `conv-${done % CONVERSATIONS}`,
            text: TEXT,
            status: 'pending',
            attempts: 0,
            createdAt: Date.now(),
          });
        }
        await store.append(batch);
      }
      await store.close();
    }
    const samples = Object.fromEntries(SIZES.map((n) => [n, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < SIZES.length; i++) {
        const n = SIZES[(i + r) % SIZES.length];
        gc();
        gc();
        const before = process.memoryUsage().heapUsed;
        const t0 = performance.now();
        let first;
        const got = new Promise((resolve) => (first = resolve));
        const outbox = await lib.createOutbox({
          store: lib.sqliteStore({ path: join(dir, `${n}.sqlite`) }),
          transport: {
            send(_e, ctx) {
              first(performance.now() - t0);
              return new Promise((resolve) =>
                ctx.signal.addEventListener('abort', () =>
                  resolve({ kind: 'retry', error: { code: 'closed', message: 'over' } }),
                ),
              );
            },
          },
        });
        const createMs = performance.now() - t0;
        const firstMs = await got;
        gc();
        gc();
        const heap = process.memoryUsage().heapUsed - before;
        await outbox.close();
        samples[n].push({ createMs, firstMs, heap });
      }
    }
    return { gcExposed: globalThis.gc !== undefined, ...summarize(samples) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const browser = await browserRecovery();
const node = await nodeRecovery();
await emit({ browser, node });
