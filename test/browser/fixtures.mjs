// Fixtures of the browser tests (@playwright/test):
//
//   sim       the built simulator (dist/simulator), one per worker, reset before every test
//   origin    a static server for the browser bundle and the test pages, one per worker:
//             { url, page } (page: the outbox harness, test/browser/pages/outbox.html)
//   token     an access token from the simulator (the http transport's bearer)
//   demo      the demo (demo/server.mjs: its own simulator with the bot + page server), per test
//
// and the helpers the tests share (waitFor, uniqueName, texts, the delivery assertions).
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test as base, expect } from '@playwright/test';

export { expect };
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEBUG = process.env.BROWSER_TEST_DEBUG === '1';
export const TUTORIAL_PATH = '/api/v2/conversations/messaging/messages';

const TYPES = { '.js': 'text/javascript', '.html': 'text/html', '.map': 'application/json' };
/** Only these are served: the bundle, the test pages, the pages' own builds. */
const SERVED = ['dist/browser/', 'test/browser/pages/', 'test-results/browser-pages/'];

/**
 * `{ status, headers, body }` for a path under the project root, or a 404. Cacheable, so that a
 * page can be opened again while the context is offline (from the HTTP cache, as a service
 * worker's cache would serve a real chat page).
 */
function staticFile(pathname) {
  const rel = normalize(decodeURIComponent(pathname)).replace(/^[/\\]+/, '');
  if (!SERVED.some((p) => rel.startsWith(p.replaceAll('/', sep))) || rel.includes('..')) {
    return { status: 404, headers: {}, body: 'not found' };
  }
  try {
    const body = readFileSync(join(ROOT, rel));
    const type = TYPES[extname(rel)] ?? 'application/octet-stream';
    return { status: 200, headers: { 'content-type': type, 'cache-control': 'max-age=600' }, body };
  } catch {
    return { status: 404, headers: {}, body: 'not found' };
  }
}

async function accessToken(sim) {
  const res = await fetch(`${sim.url}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('sim-client:sim-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  if (!res.ok) throw new Error(`token request: ${res.status}`);
  return (await res.json()).access_token;
}

export const test = base.extend({
  sim: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads the fixtures a fixture uses from this pattern
    async ({}, use) => {
      const { startSimulator } = await import(
        pathToFileURL(join(ROOT, 'dist/simulator/index.js')).href
      );
      const sim = await startSimulator({ port: 0 });
      await use(sim);
      await sim.close();
    },
    { scope: 'worker' },
  ],
  origin: [
    // eslint-disable-next-line no-empty-pattern -- as above
    async ({}, use) => {
      const server = createServer((req, res) => {
        const { status, headers, body } = staticFile(new URL(req.url ?? '/', 'http://x').pathname);
        res.writeHead(status, headers).end(body);
      });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${server.address().port}`;
      await use({ url, page: `${url}/test/browser/pages/outbox.html` });
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
    { scope: 'worker' },
  ],
  token: [async ({ sim }, use) => use(await accessToken(sim)), { scope: 'worker' }],
  // Every test starts from an empty simulator (no deliveries, no faults, no latency).
  resetSim: [
    async ({ sim }, use) => {
      sim.control.reset();
      await use();
      sim.control.latency(0);
    },
    { auto: true },
  ],
  // eslint-disable-next-line no-empty-pattern -- as above
  demo: async ({}, use) => {
    const { startDemo } = await import(pathToFileURL(join(ROOT, 'demo/server.mjs')).href);
    const demo = await startDemo({ simulator: { botDelayMs: 50 } });
    await use(demo);
    await demo.close();
  },
});

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` (sync or async) returns a truthy value; fails naming `what` after `ms`. */
export async function waitFor(what, check, ms = 15_000) {
  await expect
    .poll(async () => Boolean(await check()), {
      message: `waiting for ${what}`,
      timeout: ms,
      intervals: [10, 20, 50],
    })
    .toBe(true);
}

export const texts = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`);

let nameCounter = 0;
/** A fresh outbox name (database, lock and channel) per use. */
export const uniqueName = () => `bt-${process.pid}-${++nameCounter}`;

/** Echoes the page's errors (always) and console (BROWSER_TEST_DEBUG=1) to the test's output. */
export function watchPage(page) {
  page.on('pageerror', (error) => console.log(`    [page error] ${error.message}`));
  if (DEBUG) page.on('console', (m) => console.log(`    [console.${m.type()}] ${m.text()}`));
  return page;
}

/** Navigates `page` to the harness page (`url`: origin.page, maybe with a query) and waits for it. */
export async function loadHarness(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => window.h !== undefined);
  return page;
}

/** A new, watched tab of `context` with the harness page loaded. */
export async function harnessPage(context, url) {
  return loadHarness(watchPage(await context.newPage()), url);
}

/** The simulator's delivery records for these ids (any endpoint), in arrival order. */
export function deliveredFor(sim, ids) {
  const wanted = new Set(ids);
  return sim.control.delivered().filter((r) => wanted.has(r.externalId));
}

/** All ids delivered, none twice, and (when `inOrder`) in exactly this order. */
export function assertDeliveredOnce(sim, ids, { inOrder = true } = {}) {
  const records = deliveredFor(sim, ids);
  expect(records.filter((r) => r.duplicate).length, 'duplicate deliveries').toBe(0);
  const got = records.map((r) => r.externalId);
  if (inOrder) expect(got, 'delivery order').toEqual(ids);
  else expect([...got].sort(), 'delivered ids').toEqual([...ids].sort());
}

/** `ids` appear in this relative order among the delivered records. */
export function assertSubsequenceInOrder(sim, ids, what) {
  expect(
    deliveredFor(sim, ids).map((r) => r.externalId),
    what,
  ).toEqual(ids);
}

/** Guest transport: every message of `ids` arrived in one guest session (rule 9 of the design). */
export function assertOneSession(sim, ids) {
  const tokens = new Set(deliveredFor(sim, ids).map((r) => r.sessionToken));
  expect(tokens.size, 'guest sessions used').toBe(1);
}
