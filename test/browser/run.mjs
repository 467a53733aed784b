// The real-browser tier: Chromium (playwright-core, the system's /usr/bin/chromium), the built browser
// bundle, the local simulator. One line per scenario, then `N passed, M failed`; exit 1 on any failure.
//
//   node test/browser/run.mjs            all scenarios (builds first if dist/ is missing)
//   node test/browser/run.mjs "two tabs"   only scenarios whose name contains "two tabs"
//
// Environment: CHROMIUM_PATH (default /usr/bin/chromium), BROWSER_TEST_BUILD=1 to rebuild first,
// BROWSER_TEST_DEBUG=1 to echo page console output.
import { Buffer } from 'node:buffer';
import { spawn, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import {
  CHROMIUM,
  CHROMIUM_ARGS as ARGS,
  launchChromium,
  runScenarios,
  selectScenarios,
} from './chromium.mjs';
import { assert, assertEqual, sleep, waitFor } from './assert.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUNDLE = join(ROOT, 'dist/browser/genesys-webmessaging-outbox.js');
const SIMULATOR = join(ROOT, 'dist/simulator/index.js');
const TUTORIAL_PATH = '/api/v2/conversations/messaging/messages';
const DEBUG = process.env.BROWSER_TEST_DEBUG === '1';

if (process.env.BROWSER_TEST_BUILD === '1' || !existsSync(BUNDLE) || !existsSync(SIMULATOR)) {
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
}
const { startSimulator } = await import(pathToFileURL(SIMULATOR).href);

// ---------------------------------------------------------------------------------------------
// Static files: the bundle and the test pages, nothing else.

const TYPES = { '.js': 'text/javascript', '.html': 'text/html', '.map': 'application/json' };
const SERVED = ['dist/browser/', 'test/browser/pages/'];
// Cacheable, so that the page can be opened again while the context is offline (from the HTTP
// cache, as a service worker's cache would serve a real chat page).

/** `{ status, headers, body }` for a path under the project root, or a 404. */
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

const server = createServer((req, res) => {
  const { status, headers, body } = staticFile(new URL(req.url ?? '/', 'http://x').pathname);
  res.writeHead(status, headers).end(body);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const ORIGIN = `http://127.0.0.1:${server.address().port}`;
const PAGE = `${ORIGIN}/test/browser/pages/outbox.html`;

// ---------------------------------------------------------------------------------------------
// Simulator and helpers

const sim = await startSimulator({ port: 0 });
const MESSAGES_URL = `${sim.url}${TUTORIAL_PATH}`;

async function accessToken() {
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
const TOKEN = await accessToken();

/** The simulator's delivery records for these ids (any endpoint), in arrival order. */
function deliveredFor(ids) {
  const wanted = new Set(ids);
  return sim.control.delivered().filter((r) => wanted.has(r.externalId));
}

/** Guest transport: every message of `ids` arrived in one guest session (rule 9). */
function assertOneSession(ids) {
  const tokens = new Set(deliveredFor(ids).map((r) => r.sessionToken));
  assertEqual(tokens.size, 1, 'guest sessions used');
}

/** What a page needs to start an outbox on this transport. */
const transports = {
  http: () => ({}),
  guest: () => ({
    guest: { wsUrl: sim.wsUrl, apiBaseUrl: sim.url, deploymentId: 'sim-deployment' },
  }),
};

/** All ids delivered, none twice, and (when `inOrder`) in exactly this order. */
function assertDeliveredOnce(ids, { inOrder = true } = {}) {
  const records = deliveredFor(ids);
  const dups = records.filter((r) => r.duplicate).length;
  assert(dups === 0, `${dups} duplicate deliveries`);
  const got = records.map((r) => r.externalId);
  if (inOrder) assertEqual(got, ids, 'delivery order');
  else assertEqual([...got].sort(), [...ids].sort(), 'delivered ids');
}

/** `ids` appear in this relative order among the delivered records. */
function assertSubsequenceInOrder(ids, what) {
  const wanted = new Set(ids);
  const got = sim.control
    .delivered()
    .filter((r) => wanted.has(r.externalId))
    .map((r) => r.externalId);
  assertEqual(got, ids, what);
}

/**
 * Keeps a handle on every IndexedDB connection the pages of `context` open (`window.__connections`)
 * and counts their 'close' events (`window.__closeEvents`).
 */
async function trackConnections(context) {
  await context.addInitScript(() => {
    const open = IDBFactory.prototype.open;
    window.__connections = [];
    window.__closeEvents = 0;
    IDBFactory.prototype.open = function (...args) {
      const req = open.apply(this, args);
      req.addEventListener('success', () => {
        window.__connections.push(req.result);
        req.result.addEventListener('close', () => (window.__closeEvents += 1));
      });
      return req;
    };
  });
}

const texts = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`);

let nameCounter = 0;
const uniqueName = () => `bt-${process.pid}-${++nameCounter}`;

/** Opens the harness page in `context` and starts an outbox named `name` in it. */
async function openOutbox(context, name, extra = {}) {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.log(`    [page error] ${error.message}`));
  if (DEBUG) page.on('console', (m) => console.log(`    [console.${m.type()}] ${m.text()}`));
  await page.goto(PAGE);
  await page.waitForFunction(() => window.h !== undefined);
  await page.evaluate((o) => window.h.start(o), {
    url: MESSAGES_URL,
    token: TOKEN,
    name,
    ...extra,
  });
  return page;
}

/** Counts this page's requests to the message endpoint (to tell which tab sends). */
function countRequests(page) {
  const counter = { n: 0 };
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().startsWith(MESSAGES_URL)) counter.n += 1;
  });
  return counter;
}

// ---------------------------------------------------------------------------------------------
// Scenarios

const notes = [];

/** Offline, reload while offline, back online: all delivered once, in order; time to first delivery. */
const offlineReload = (kind, n) => ({
  name: `offline (${kind}): ${n} messages survive a reload and are delivered once, in order, on reconnect`,
  timeoutMs: 30_000,
  async run({ browser }) {
    const context = await browser.newContext();
    try {
      const name = uniqueName();
      const page = await openOutbox(context, name, transports[kind]());
      await context.setOffline(true);
      const ids = await page.evaluate((t) => window.h.send(t), texts(`offline ${kind}`, n));
      // The page goes away and comes back while offline (a fresh document: nothing in memory
      // survives). A navigation, not page.reload(): a reload revalidates the document, which
      // fails offline without a service worker.
      await page.goto(PAGE);
      await page.waitForFunction(() => window.h !== undefined);
      await page.evaluate((o) => window.h.start(o), {
        url: MESSAGES_URL,
        token: TOKEN,
        name,
        ...transports[kind](),
      });
      const pending = await page.evaluate(() => window.h.list());
      assertEqual(
        pending.map((e) => e.id),
        ids,
        'entries after the offline reload',
      );
      assertEqual(deliveredFor(ids).length, 0, 'delivered while offline');
      // Where the time goes: the page's 'online' event, the outbox's first attempt, the
      // simulator storing the first message.
      await page.evaluate(() => {
        window.__t = {};
        window.addEventListener('online', () => (window.__t.online = Date.now()), { once: true });
        window.h.outbox.subscribe((e) => {
          if (e.type === 'status' && e.entry.status === 'sending')
            window.__t.sending ??= Date.now();
        });
      });
      const t0 = Date.now();
      await context.setOffline(false);
      await waitFor(`${n} deliveries`, () => deliveredFor(ids).length === n, 15_000);
      const first = deliveredFor(ids)[0].receivedAt - t0;
      const t = await page.evaluate(() => window.__t);
      const timing =
        `setOffline(false) -> first delivery stored by the simulator ${first} ms ` +
        `('online' event +${t.online - t0} ms, first attempt +${t.sending - t0} ms)`;
      notes.push(`${kind}: ${timing}`);
      assertDeliveredOnce(ids);
      if (kind === 'guest') assertOneSession(ids);
      await waitFor(
        'empty outbox',
        async () => (await page.evaluate(() => window.h.list())).length === 0,
      );
      return timing;
    } finally {
      await context.close();
    }
  },
});

/** Two tabs of one outbox: one sender, every status everywhere, hand-over when the leader closes. */
const twoTabs = (lease) => ({
  name: `two tabs during an outage (${lease ? 'IndexedDB lease, no Web Locks' : 'Web Locks'}): one tab drains, both see every status, the other takes over when it closes`,
  timeoutMs: 40_000,
  async run({ browser }) {
    const context = await browser.newContext();
    try {
      // Safari before 15.4: no navigator.locks, so the outbox falls back to the lease.
      if (lease) await context.addInitScript(() => delete Navigator.prototype.locks);
      const name = uniqueName();
      const a = await openOutbox(context, name);
      const b = await openOutbox(context, name);
      const reqA = countRequests(a);
      const reqB = countRequests(b);

      // Phase 1: both tabs send at the same time while offline, then the network returns.
      await context.setOffline(true);
      const [idsA, idsB] = await Promise.all([
        a.evaluate((t) => window.h.send(t), texts('tab A', 10)),
        b.evaluate((t) => window.h.send(t), texts('tab B', 10)),
      ]);
      const all = [...idsA, ...idsB];
      await context.setOffline(false);
      await waitFor('20 deliveries', () => deliveredFor(all).length === 20, 15_000);
      assertDeliveredOnce(all, { inOrder: false });
      assertSubsequenceInOrder(idsA, 'tab A order');
      assertSubsequenceInOrder(idsB, 'tab B order');
      assert(
        (reqA.n === 0) !== (reqB.n === 0),
        `exactly one tab should send (A sent ${reqA.n} requests, B ${reqB.n})`,
      );
      for (const [label, page] of [
        ['A', a],
        ['B', b],
      ]) {
        await waitFor(`tab ${label} to see every 'sent'`, async () => {
          const sent = new Set(await page.evaluate(() => window.h.seen('sent')));
          return all.every((id) => sent.has(id));
        });
        for (const status of ['pending', 'sending']) {
          const seen = new Set(await page.evaluate((st) => window.h.seen(st), status));
          assert(
            all.every((id) => seen.has(id)),
            `tab ${label} missed '${status}' events`,
          );
        }
      }
      const [leader, follower, followerReq] = reqA.n > 0 ? [a, b, reqB] : [b, a, reqA];

      // Phase 2: a slow drain; the leader tab closes in the middle of it.
      sim.control.latency(100);
      await context.setOffline(true);
      const [more1, more2] = await Promise.all([
        leader.evaluate((t) => window.h.send(t), texts('leader', 10)),
        follower.evaluate((t) => window.h.send(t), texts('follower', 10)),
      ]);
      const more = [...more1, ...more2];
      await context.setOffline(false);
      await waitFor('a partial drain', () => deliveredFor(more).length >= 3);
      await leader.close();
      const before = deliveredFor(more).length;
      assert(before < 20, 'the drain had already finished before the leader closed');
      await waitFor('the other tab to finish', () => deliveredFor(more).length >= 20, 15_000);
      await sleep(200);
      assertDeliveredOnce(more, { inOrder: false });
      assertSubsequenceInOrder(more1, 'leader tab order');
      assertSubsequenceInOrder(more2, 'follower tab order');
      assert(followerReq.n > 0, 'the remaining tab never sent');
      await waitFor(`the remaining tab to see every 'sent'`, async () => {
        const sent = new Set(await follower.evaluate(() => window.h.seen('sent')));
        return more.every((id) => sent.has(id));
      });
      return `leader sent ${before}/20 of phase 2 before closing`;
    } finally {
      sim.control.latency(0);
      await context.close();
    }
  },
});

/** The browser process is killed mid-drain and restarted on the same profile. */
const killedDuringDrain = (kind, n, partial) => ({
  name: `browser killed (SIGKILL) during a drain (${kind}): restart on the same profile, nothing lost or duplicated`,
  timeoutMs: 40_000,
  async run() {
    const profile = mkdtempSync(join(tmpdir(), 'outbox-profile-'));
    let child;
    const launch = async () => {
      child = spawn(
        CHROMIUM,
        [
          ...ARGS,
          '--headless=new',
          `--user-data-dir=${profile}`,
          '--remote-debugging-port=0',
          'about:blank',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const endpoint = await new Promise((resolve, reject) => {
        let err = '';
        const timer = setTimeout(() => reject(new Error('chromium did not start')), 10_000);
        child.stderr.on('data', (d) => {
          err += d;
          const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.once('exit', () => reject(new Error('chromium exited')));
      });
      const browser = await chromium.connectOverCDP(endpoint);
      return browser.contexts()[0];
    };
    const kill = () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGKILL');
      });
    try {
      const name = uniqueName();
      let context = await launch();
      let page = await openOutbox(context, name, transports[kind]());
      sim.control.latency(100);
      const ids = await page.evaluate((t) => window.h.send(t), texts(`killed ${kind}`, n));
      await waitFor('a partial drain', () => deliveredFor(ids).length >= partial);
      await kill();
      const before = deliveredFor(ids).length;
      assert(before < n, `the drain had already finished (${before}) before the kill`);
      sim.control.latency(0);
      context = await launch();
      page = await openOutbox(context, name, transports[kind]());
      await waitFor(`${n} deliveries`, () => deliveredFor(ids).length >= n, 15_000);
      await waitFor(
        'empty outbox',
        async () => (await page.evaluate(() => window.h.list())).length === 0,
      );
      await sleep(200);
      assertDeliveredOnce(ids);
      if (kind === 'guest') assertOneSession(ids);
      await kill();
      return `${before} delivered before the kill, the rest after restart`;
    } finally {
      sim.control.latency(0);
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await sleep(100);
      rmSync(profile, { recursive: true, force: true });
    }
  },
});

/**
 * A storage fault between two sends: the first message is delivered, `fault` breaks the storage
 * under the running outbox, and a later send is still stored and delivered; each message reaches
 * the server once and nothing is left behind in the outbox.
 */
const storageFault = (name, fault, options = {}) => ({
  name,
  timeoutMs: 20_000,
  async run({ browser }) {
    const context = await browser.newContext();
    try {
      if (options.trackConnections) await trackConnections(context);
      const db = uniqueName();
      const page = await openOutbox(context, db);
      const ok1 = await page.evaluate(() => window.h.trySend('before'));
      assert(ok1.id, `first send: ${JSON.stringify(ok1)}`);
      await waitFor('first delivery', () => deliveredFor([ok1.id]).length === 1);
      await fault({ context, page, name: db });
      const ok2 = await page.evaluate(() => window.h.trySend('after'));
      assert(ok2.id, `send after the fault: ${JSON.stringify(ok2)}`);
      await waitFor('second delivery', () => deliveredFor([ok2.id]).length === 1);
      assertDeliveredOnce([ok1.id, ok2.id]);
      await waitFor(
        'empty outbox',
        async () => (await page.evaluate(() => window.h.list())).length === 0,
      );
      return undefined;
    } finally {
      await context.close();
    }
  },
});

const scenarios = [
  offlineReload('http', 20),
  {
    name: 'browser closed during a drain: relaunch on the same profile, nothing lost or duplicated',
    timeoutMs: 40_000,
    async run() {
      const profile = mkdtempSync(join(tmpdir(), 'outbox-profile-'));
      const launch = () =>
        chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS });
      try {
        const name = uniqueName();
        let context = await launch();
        let page = await openOutbox(context, name);
        sim.control.latency(100);
        const ids = await page.evaluate((t) => window.h.send(t), texts('crash', 20));
        await waitFor('a partial drain', () => deliveredFor(ids).length >= 5);
        await context.close();
        const before = deliveredFor(ids).length;
        assert(before < 20, `the drain had already finished (${before}) before the browser closed`);
        sim.control.latency(0);
        context = await launch();
        page = await openOutbox(context, name);
        await waitFor('20 deliveries', () => deliveredFor(ids).length >= 20, 15_000);
        await waitFor(
          'empty outbox',
          async () => (await page.evaluate(() => window.h.list())).length === 0,
        );
        await sleep(200); // a late duplicate would show up here
        assertDeliveredOnce(ids);
        await context.close();
        return `${before} delivered before the close, the rest after relaunch`;
      } finally {
        sim.control.latency(0);
        rmSync(profile, { recursive: true, force: true });
      }
    },
  },

  killedDuringDrain('http', 20, 5),
  twoTabs(false),
  twoTabs(true),
  storageFault(
    "storage full: send rejects with 'storage-full', later messages still go through",
    async ({ page }) => {
      // Let the first delivery leave the store before breaking the next write.
      await waitFor(
        'empty outbox',
        async () => (await page.evaluate(() => window.h.list())).length === 0,
      );
      // The next new entry fails to be written the way a full disk fails it: with a
      // QuotaExceededError. Patched in-page: Chromium's quota override (CDP
      // Storage.overrideQuotaForOrigin) did not make small IndexedDB writes fail here.
      await page.evaluate(() => {
        const proto = IDBObjectStore.prototype;
        const add = proto.add;
        proto.add = function () {
          proto.add = add;
          throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        };
      });
      const full = await page.evaluate(() => window.h.trySend('no room'));
      assertEqual(full, { code: 'storage-full' }, 'send on a full disk');
    },
  ),
  storageFault(
    'IndexedDB connection closed under the outbox: the next send still succeeds',
    async ({ page }) => {
      // What WebKit does when its storage process goes away, and Chromium on "clear site
      // data": the connection is closed and a 'close' event fires.
      const closed = await page.evaluate(() => {
        for (const db of window.__connections) {
          db.close();
          db.dispatchEvent(new Event('close'));
        }
        return window.__connections.length;
      });
      assert(closed > 0, 'no IndexedDB connection was seen');
    },
    { trackConnections: true },
  ),
  storageFault(
    'database deleted while running (site data cleared, another tab): the next send still succeeds',
    async ({ context, name }) => {
      // The data goes away while the outbox runs. (Chromium's DevTools 'Clear site data' over
      // CDP does this too, but under load it sometimes neither closed the connection nor
      // finished within seconds, which made this scenario flaky; the forced-close half of it is
      // the scenario above.) Another page deletes the database: the outbox's connection gets
      // 'versionchange', steps aside, and the delete completes.
      const other = await context.newPage();
      await other.goto(PAGE);
      const deleted = await other.evaluate(
        (n) =>
          new Promise((resolve) => {
            const req = indexedDB.deleteDatabase(n);
            req.onsuccess = () => resolve('deleted');
            req.onerror = () => resolve(`error: ${req.error}`);
            req.onblocked = () => resolve('blocked');
          }),
        name,
      );
      assertEqual(deleted, 'deleted', 'deleting the database while the outbox runs');
      await other.close();
    },
  ),

  {
    name: 'tutorial queue present at start: migrated, then delivered once, oldest first',
    timeoutMs: 20_000,
    async run({ browser }) {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(PAGE);
        await page.waitForFunction(() => window.h !== undefined);
        // What the tutorial's OfflineMessageQueue left behind (stored in random key order).
        const now = Date.now();
        const records = [3, 1, 2].map((i) => ({
          id: randomUUID(),
          guestId: 'tutorial-guest',
          conversationId: 'tutorial-conversation',
          text: `tutorial ${i}`,
          timestamp: now - 60_000 + i * 1000,
          retryCount: i,
          nextRetryAt: 2000,
        }));
        await page.evaluate((r) => window.h.seedTutorial(r), records);
        await page.evaluate((o) => window.h.startTutorialQueue(o), {
          apiBaseUrl: sim.url,
          token: TOKEN,
          name: uniqueName(),
        });
        const oldestFirst = [...records].sort((x, y) => x.timestamp - y.timestamp).map((r) => r.id);
        await waitFor('3 deliveries', () => deliveredFor(oldestFirst).length === 3);
        assertDeliveredOnce(oldestFirst);
        const texts = deliveredFor(oldestFirst).map((r) => r.text);
        assertEqual(texts, ['tutorial 1', 'tutorial 2', 'tutorial 3'], 'delivered texts');
        assertEqual(
          await page.evaluate(() => window.h.tutorialLeft()),
          0,
          'left in the tutorial store',
        );
        // The facade keeps working for new messages.
        const id = await page.evaluate(() =>
          window.h.queue.enqueueMessage(
            'tutorial-guest',
            'tutorial-conversation',
            'after the upgrade',
          ),
        );
        await waitFor('the new message', () => deliveredFor([id]).length === 1);
        assertDeliveredOnce([...oldestFirst, id]);
        return undefined;
      } finally {
        await context.close();
      }
    },
  },

  // The same on the Web Messaging Guest API (WebSocket; 2 messages per second per session, so
  // fewer messages): the session survives the reload/restart, in-doubt sends are reconciled.
  offlineReload('guest', 6),
  killedDuringDrain('guest', 6, 2),
];

// ---------------------------------------------------------------------------------------------
// Runner

const filter = process.argv.slice(2);
scenarios.push(...(await import('./demo.test.mjs')).scenarios);

const browser = await launchChromium();
const started = Date.now();
const { passed, failed } = await runScenarios(browser, selectScenarios(scenarios, filter), () =>
  sim.control.reset(),
);
await browser.close();
await sim.close();
server.close();
for (const note of notes) console.log(`note: ${note}`);
console.log(`(browser tier took ${((Date.now() - started) / 1000).toFixed(1)} s)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
