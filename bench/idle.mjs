// 4. Idle cost of an empty outbox: timers armed and fired (wake-ups) per minute, against the
// tutorial's 5-second polling loop, counted the same way, side by side over the same window.
//
// Node: an injected clock wrapping the real clock counts the library's timers; the tutorial loop
// (bench/lib/tutorialPolling.mjs) is given the same wrapper. Chromium: the page's timer globals
// are wrapped (every timer of the page, the library's coordinator and connectivity included);
// the outbox (default configuration) and the tutorial loop run in two pages at once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBench } from './lib/browser.mjs';
import { compileNode } from './lib/compile.mjs';
import { emit, round } from './lib/stats.mjs';
import { startTutorialPolling } from './lib/tutorialPolling.mjs';

const quick = process.env.BENCH_QUICK === '1';
// Just past a multiple of 5 s, so the tutorial's last tick falls inside the window.
const WINDOW_MS = quick ? 10_500 : 30_500;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const perMinute = (x, ms) => round((x * 60_000) / ms, 1);

/** The real clock, counting what goes through it. */
function countingClock() {
  const counts = { armed: 0, fired: 0 };
  return {
    counts,
    now: () => Date.now(),
    setTimeout(callback, ms) {
      counts.armed++;
      const h = setTimeout(() => {
        counts.fired++;
        callback();
      }, ms);
      h.unref?.();
      return h;
    },
    clearTimeout: (h) => clearTimeout(h),
    setInterval(callback, ms) {
      counts.armed++;
      return setInterval(() => {
        counts.fired++;
        callback();
      }, ms);
    },
    clearInterval: (h) => clearInterval(h),
  };
}

async function nodeIdle() {
  const lib = await import(await compileNode());
  const dir = mkdtempSync(join(tmpdir(), 'outbox-idle-'));
  try {
    const outboxClock = countingClock();
    const tutorialClock = countingClock();
    const outbox = await lib.createOutbox({
      transport: { send: () => new Promise(() => {}) },
      store: lib.sqliteStore({ path: join(dir, 'idle.sqlite') }),
      clock: outboxClock,
    });
    // Counted from the moment both run (the tutorial's interval is armed once, at start).
    outboxClock.counts.armed = outboxClock.counts.fired = 0;
    const stopTutorial = startTutorialPolling(tutorialClock);
    const t0 = Date.now();
    await sleep(WINDOW_MS);
    const ms = Date.now() - t0;
    stopTutorial();
    await outbox.close();
    const row = (c) => ({ armed: c.armed, fired: c.fired, firedPerMinute: perMinute(c.fired, ms) });
    return { windowMs: ms, outbox: row(outboxClock.counts), tutorial: row(tutorialClock.counts) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function browserIdle() {
  const b = await openBench();
  try {
    const other = await b.extraPage();
    await b.page.evaluate(() => window.bench.idleStart('outbox'));
    await other.evaluate(() => window.bench.idleStart('tutorial'));
    await sleep(WINDOW_MS);
    const o = await b.page.evaluate(() => window.bench.idleStop());
    const t = await other.evaluate(() => window.bench.idleStop());
    const row = (c) => ({
      armed: c.armed,
      fired: c.fired,
      firedPerMinute: perMinute(c.fired, c.ms),
    });
    return { windowMs: round(o.ms, 0), outbox: row(o), tutorial: row(t) };
  } finally {
    await b.close();
  }
}

// Both environments idle at once: nothing here competes for the CPU.
const [node, browser] = await Promise.all([nodeIdle(), browserIdle()]);
await emit({ node, browser });
