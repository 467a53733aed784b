// Headless Chromium (the system one, never downloaded) on a tiny local origin that serves the
// benchmark page. IndexedDB, Web Locks and service workers need a real http://127.0.0.1 origin.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { compileBrowser, root, outDir } from './compile.mjs';

import { CHROMIUM, CHROMIUM_ARGS } from '../../test/browser/chromium.mjs';

export { CHROMIUM, CHROMIUM_ARGS };

export function chromiumVersion() {
  try {
    return execFileSync(CHROMIUM, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

const files = {
  '/': [
    'text/html',
    () =>
      '<!doctype html><meta charset="utf-8"><title>bench</title><script type="module" src="/page.js"></script>',
  ],
  '/page.js': ['text/javascript', () => readFileSync(join(outDir, 'page.js'))],
  '/sw.js': ['text/javascript', () => readFileSync(join(root, 'bench', 'browser', 'sw.js'))],
};

/**
 * Builds the page from src/, starts the origin and the browser; returns { page, cdp, reload, close }.
 * `minify: false` for the profiler (readable names, module markers in the bundle). `isolated`:
 * the origin is served cross-origin isolated (COOP + COEP), so the page's `performance.now()`
 * has 5 µs steps instead of 100 µs (a per-send p50 of 0.3-0.5 ms is otherwise 3-5 steps).
 */
export async function openBench({ minify = true, isolated = false } = {}) {
  await compileBrowser({ minify });
  const server = createServer((req, res) => {
    const f = files[new URL(req.url, 'http://x').pathname];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    const headers = { 'content-type': f[0], 'cache-control': 'no-store' };
    if (isolated) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
    }
    res.writeHead(200, headers).end(f[1]());
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[page error]', e.message));
  const cdp = await context.newCDPSession(page);
  const reload = async () => {
    await page.goto(origin + '/');
    await page.waitForFunction(() => window.bench !== undefined);
  };
  await reload();
  return {
    page,
    cdp,
    origin,
    reload,
    version: browser.version(),
    /** Another page on the same origin (same browser context), ready. */
    async extraPage() {
      const p = await context.newPage();
      p.on('pageerror', (e) => console.error('[page error]', e.message));
      await p.goto(origin + '/');
      await p.waitForFunction(() => window.bench !== undefined);
      return p;
    },
    /** JS heap used after a full GC, bytes. */
    async heapUsed() {
      await cdp.send('HeapProfiler.collectGarbage');
      await cdp.send('HeapProfiler.collectGarbage');
      const { usedSize } = await cdp.send('Runtime.getHeapUsage');
      return usedSize;
    },
    async close() {
      await browser.close();
      await new Promise((r) => server.close(r));
    },
  };
}
