// Browser chaos, real Chromium: tabs of one origin sending at once from the moment they open,
// tabs closed and reloaded (also while a message is in flight on a slow link), offline/online
// flips, and the browser SIGKILLed mid-drain (its whole process group: the helpers too) and
// relaunched on the same profile. A seed gives the whole schedule; each schedule gets its own
// simulator and its own Chromium profile.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchKillable } from '../browser/chromium.mjs';
import { analyse, disruptionLog } from './analyse.mjs';
import { prng } from './prng.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BROWSER_TRANSPORTS = ['http', 'guest'];
export const BROWSER_KINDS = ['tabs', 'kill', 'reload', 'flips'];
const TUTORIAL_PATH = '/api/v2/conversations/messaging/messages';

/** Serves the browser bundle and the chaos page (nothing else) on a free port. */
export async function startPageServer() {
  const served = ['dist/browser/', 'test/chaos/pages/'];
  const types = { '.js': 'text/javascript', '.html': 'text/html', '.map': 'application/json' };
  const server = createServer((req, res) => {
    const rel = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(
      /^[/\\]+/,
      '',
    );
    if (!served.some((p) => rel.startsWith(p.replaceAll('/', sep))) || rel.includes('..')) {
      res.writeHead(404).end('not found');
      return;
    }
    try {
      const body = readFileSync(join(ROOT, rel));
      res
        .writeHead(200, {
          'content-type': types[extname(rel)] ?? 'application/octet-stream',
          'cache-control': 'max-age=600',
        })
        .end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    page: `${origin}/test/chaos/pages/chaos.html`,
    close: () => new Promise((r) => server.close(r)),
  };
}

/** The schedule of `seed` on `transport` (plain data; `--print` shows it). */
export function browserSchedule(seed, transport) {
  const r = prng(seed * 104_729 + BROWSER_TRANSPORTS.indexOf(transport) + 17);
  const guest = transport === 'guest';
  const kind = BROWSER_KINDS[seed % BROWSER_KINDS.length];
  const tabs = kind === 'tabs' ? r.int(2, 3) : kind === 'reload' ? 1 : r.int(1, 2);
  const durationMs = r.int(1500, 3000);
  const events = [];
  const plans = [];
  for (let tab = 0; tab < tabs; tab++) {
    const bursts = kind === 'flips' ? r.int(2, 3) : 1;
    const shapes = [];
    for (let b = 0; b < bursts; b++) {
      const size = guest ? r.int(1, kind === 'tabs' ? 2 : 3) : r.int(kind === 'tabs' ? 6 : 3, 10);
      // the first burst right after the outbox opened; later ones at seeded moments
      shapes.push({ at: b === 0 ? 0 : r.int(200, durationMs - 200), size });
    }
    shapes.sort((x, y) => x.at - y.at);
    let n = 0;
    const groups = shapes.map(({ at, size }) => {
      const texts = Array.from({ length: size }, (_, i) => `s${seed}:t${tab}:${n + i}`);
      n += size;
      return { at, texts, spread: r.chance(0.5) };
    });
    plans.push({ tab, groups });
  }
  let offlineAtStart = false;
  switch (kind) {
    case 'tabs':
      offlineAtStart = r.chance(0.6);
      if (offlineAtStart) events.push({ at: r.int(100, 800), action: 'online' });
      if (r.chance(0.4))
        events.push({ at: r.int(300, durationMs), action: 'closeTab', tab: r.int(0, tabs - 1) });
      break;
    case 'kill':
      events.push({
        at: 0,
        action: guest ? 'delayFrames' : 'latency',
        ms: r.pick([100, 300, 800]),
      });
      events.push({ at: r.int(150, durationMs), action: 'kill', relaunchAfterMs: r.int(0, 500) });
      break;
    case 'reload': {
      // slow link: the message is in flight (stored, its answer / echo not yet back) at the reload
      const ms = guest ? r.pick([1500, 3000, 6000]) : r.pick([800, 1500, 2500]);
      events.push({ at: 0, action: guest ? 'delayFrames' : 'latency', ms });
      events.push({ at: r.int(100, 900), action: 'reload', tab: 0 });
      if (r.chance(0.5)) events.push({ at: r.int(1000, durationMs), action: 'reload', tab: 0 });
      events.push({
        at: durationMs - r.int(0, 300),
        action: guest ? 'delayFrames' : 'latency',
        ms: 0,
      });
      break;
    }
    case 'flips': {
      let t = 0;
      let offline = false;
      for (let f = r.int(3, 6); f > 0; f--) {
        t += r.int(100, 600);
        offline = !offline;
        events.push({ at: t, action: offline ? 'offline' : 'online' });
      }
      break;
    }
    default:
      break;
  }
  for (let f = r.int(0, 2); f > 0; f--) {
    const action = r.pick(
      guest ? ['dropSocket', 'guestFault', 'fail5xx'] : ['fail5xx', 'commitThenDrop', 'fail429'],
    );
    const e = { at: r.int(0, durationMs), action };
    if (action === 'fail5xx') e.count = r.int(1, 3);
    if (action === 'commitThenDrop') e.count = r.int(1, 2);
    if (action === 'fail429') e.retryAfter = r.pick([0, 1, 'past']);
    if (action === 'dropSocket') e.when = r.pick(['before-accept', 'after-accept']);
    if (action === 'guestFault') e.code = r.pick([5000, 4029]);
    events.push(e);
  }
  // A tab whose main thread is busy for a while (a heavy page, a starved renderer on a loaded
  // machine): its timers, storage callbacks and the harness's own calls into it wait meanwhile.
  // Drawn from a stream of its own, so every other draw of the seed is as before.
  const rb = prng(seed * 7919 + BROWSER_TRANSPORTS.indexOf(transport) + 3);
  if (rb.chance(0.3)) {
    events.push({
      at: rb.int(0, durationMs - 200),
      action: 'busy',
      tab: rb.int(0, tabs - 1),
      ms: rb.pick([200, 400, 800]),
    });
  }
  events.sort((a, b) => a.at - b.at);
  return {
    tier: 'browser',
    transport,
    kind,
    seed,
    tabs,
    offlineAtStart,
    durationMs,
    plans,
    events,
    retry: { baseDelayMs: 50, maxDelayMs: 500, maxAttempts: 1000, maxAgeMs: 3_600_000 },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const launch = (profile) => launchKillable(profile);

async function token(sim) {
  const res = await fetch(`${sim.url}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('sim-client:sim-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  return (await res.json()).access_token;
}

/** Runs one browser schedule; resolves with the counts. */
export async function runBrowserSchedule(schedule, { startSimulator, pages }) {
  const sim = await startSimulator({ port: 0 });
  const profile = mkdtempSync(join(tmpdir(), 'outbox-chaos-profile-'));
  const committed = new Set();
  const clientFailures = [];
  const requests = new Map();
  const deaths = new Map();
  const ids = new Map();
  const issuedOrder = [];
  const { disruptions, disrupt } = disruptionLog(sim);
  let unhandled = 0;
  const unhandledMessages = [];
  let kills = 0;
  let offline = schedule.offlineAtStart;
  const guest = schedule.transport === 'guest';
  const bearer = await token(sim);
  const startOptions = {
    url: sim.url + TUTORIAL_PATH,
    token: bearer,
    name: `chaos-${schedule.seed}`,
    retry: schedule.retry,
    ...(guest
      ? {
          guest: {
            wsUrl: sim.wsUrl,
            apiBaseUrl: sim.url,
            echoTimeoutMs: 1500,
            connectWaitMs: 1000,
          },
        }
      : {}),
  };
  let b; // { child, browser, context }
  const tabs = schedule.plans.map((p) => ({ ...p, page: undefined, sentGroups: new Set() }));
  const started = Date.now();
  const timers = new Set();
  const later = (ms, fn) => {
    const t = setTimeout(() => {
      timers.delete(t);
      void fn().catch(() => {});
    }, ms);
    timers.add(t);
  };

  const prepare = async () => {
    await b.context.exposeFunction('committed', (text, id) => {
      committed.add(text);
      ids.set(text, id);
    });
    await b.context.exposeFunction('issued', (text, at, n) => issuedOrder.push({ text, at, n }));
    await b.context.exposeFunction('rejected', () => {});
    await b.context.exposeFunction('req', (r) => {
      const id = `${r.proc}/${r.n}`;
      const q = requests.get(id) ?? { proc: r.proc, key: r.key };
      if (r.start !== undefined) q.start = r.start;
      if (r.end !== undefined) Object.assign(q, { end: r.end, status: r.status });
      requests.set(id, q);
    });
    await b.context.exposeFunction('attemptFailed', (id, at) =>
      clientFailures.push({ key: id, at }),
    );
  };
  /** Loads the page into a new tab (or navigates `reuse`: a reload); the outbox not yet started. */
  const loadTab = async (tab, reuse) => {
    const page = reuse ?? (await b.context.newPage());
    tab.page = page;
    if (reuse === undefined) {
      page.on('pageerror', (error) => {
        unhandled += 1;
        unhandledMessages.push(String(error.message).split('\n')[0]);
      });
    }
    if (tab.me !== undefined) deaths.set(tab.me, Date.now()); // a reload: that document is gone
    await page.goto(pages.page);
    await page.waitForFunction(() => window.c !== undefined);
    tab.me = await page.evaluate(() => window.c.me);
  };
  /** Starts the tab's outbox and, with `sendGroups`, its first burst in the same moment. */
  const startTab = async (tab, sendGroups) => {
    const first = sendGroups ? tab.groups.filter((g) => g.at === 0 && !tab.sentGroups.has(g)) : [];
    for (const g of first) tab.sentGroups.add(g);
    await tab.page.evaluate(
      async ({ o, groups }) => {
        await window.c.start(o);
        for (const g of groups)
          window.c.burst(
            g.texts.map((text) => ({ text })),
            g.spread,
          );
      },
      { o: startOptions, groups: first },
    );
  };
  const openTab = async (tab, sendGroups, reuse) => {
    await loadTab(tab, reuse);
    await startTab(tab, sendGroups);
  };
  const sendLater = (tab, g) =>
    later(g.at, async () => {
      if (tab.sentGroups.has(g) || tab.page === undefined || tab.page.isClosed()) return;
      tab.sentGroups.add(g);
      await tab.page.evaluate(
        (group) =>
          window.c.burst(
            group.texts.map((text) => ({ text })),
            group.spread,
          ),
        g,
      );
    });

  const c = sim.control;
  /** A slow link (at least half the request / echo timeout) is a disruption while it lasts. */
  let slowSince;
  let slowMs = 0;
  const slow = (ms) => {
    // requests in flight when the link got fast again still take the old latency
    if (slowSince !== undefined)
      disruptions.push({ at: slowSince, until: Date.now() + slowMs, kind: 'slow' });
    slowSince = ms >= 750 ? Date.now() : undefined;
    slowMs = ms;
  };
  const inject = async (e) => {
    switch (e.action) {
      case 'online':
      case 'offline':
        offline = e.action === 'offline';
        if (offline) disrupt('offline');
        await b.context.setOffline(offline);
        return;
      case 'latency':
        slow(e.ms);
        c.latency(e.ms);
        return;
      case 'delayFrames':
        slow(e.ms);
        c.delayFrames(e.ms);
        return;
      case 'closeTab': {
        const tab = tabs[e.tab];
        if (tab.page === undefined || tab.page.isClosed()) return;
        disrupt('close-tab');
        deaths.set(tab.me, Date.now());
        tab.me = undefined;
        await tab.page.close();
        return;
      }
      case 'reload': {
        const tab = tabs[e.tab];
        if (tab.page === undefined || tab.page.isClosed()) return;
        disrupt('reload');
        // a navigation: nothing in the page's memory survives, the store does
        await openTab(tab, false, tab.page);
        return;
      }
      case 'kill': {
        kills += 1;
        disrupt('kill');
        const dead = b;
        await dead.kill();
        await dead.browser.close().catch(() => {});
        for (const t of tabs) {
          t.page = undefined;
          if (t.me !== undefined) deaths.set(t.me, Date.now());
          t.me = undefined;
        }
        await sleep(e.relaunchAfterMs);
        b = await launch(profile);
        await prepare();
        for (const t of tabs) await openTab(t, false);
        return;
      }
      case 'busy': {
        const tab = tabs[e.tab];
        if (tab.page === undefined || tab.page.isClosed()) return;
        // not awaited: the schedule goes on while the tab is blocked
        void tab.page
          .evaluate((ms) => {
            const until = performance.now() + ms;
            while (performance.now() < until);
          }, e.ms)
          .catch(() => {});
        return;
      }
      case 'fail5xx':
        c.fail5xx(e.count);
        return;
      case 'commitThenDrop':
        c.commitThenDrop(e.count);
        return;
      case 'fail429':
        c.fail429(
          1,
          e.retryAfter === 'past' ? new Date(Date.now() - 60_000).toUTCString() : e.retryAfter,
        );
        return;
      case 'dropSocket':
        if (e.when === 'after-accept') disrupt('socket-drop');
        for (const s of c.sessions()) c.dropSocket(s.token, e.when);
        return;
      case 'guestFault':
        c.failNextOnMessage(e.code);
        return;
      default:
        throw new Error(`unknown action ${e.action}`);
    }
  };

  let stuckTimeout = false;
  try {
    b = await launch(profile);
    await prepare();
    // every tab loads (online: nothing is cached yet), then, offline or not, every tab starts
    // its outbox and sends at once
    for (const t of tabs) await loadTab(t);
    if (offline) await b.context.setOffline(true);
    await Promise.all(tabs.map((t) => startTab(t, true)));
    const t0 = Date.now();
    for (const t of tabs) for (const g of t.groups) if (g.at > 0) sendLater(t, g);
    // the events run in order (a kill or reload must finish before the next event)
    const chain = (async () => {
      for (const e of schedule.events) {
        const wait = t0 + e.at - Date.now();
        if (wait > 0) await sleep(wait);
        await inject(e);
      }
    })();
    await chain;
    const rest = t0 + schedule.durationMs - Date.now();
    if (rest > 0) await sleep(rest);
    for (const t of timers) clearTimeout(t);
    timers.clear();
    // the end: network back, faults off, one tab at least
    slow(0);
    c.latency(0);
    c.fail5xx(0);
    c.commitThenDrop(0);
    c.fail429(0);
    if (guest) c.delayFrames(0);
    if (offline) {
      offline = false;
      await b.context.setOffline(false);
    }
    const open = () => tabs.filter((t) => t.page !== undefined && !t.page.isClosed());
    if (open().length === 0) await openTab(tabs[0], false);
    // groups never sent (their tab was closed or reloaded first) are not sent: not committed
    const deadline = Date.now() + 30_000;
    let left;
    for (;;) {
      const delivered = new Set(c.delivered().map((d) => d.text));
      if ([...committed].every((t) => delivered.has(t))) {
        left = await open()[0].page.evaluate(() => window.c.list());
        if (left.length === 0) break;
      }
      if (Date.now() > deadline) {
        stuckTimeout = true;
        left = await open()[0]
          .page.evaluate(() => window.c.list())
          .catch(() => undefined);
        break;
      }
      await sleep(100);
    }
    await sleep(300); // a late duplicate would arrive here
    // The order promised is the order in which the page called send(), as it reported it
    // (`issued`: its time and its count in that document), not the plan's: a tab busy when two of the
    // harness's calls arrive runs the later one's sends before the earlier one's timer-spread
    // sends (the false "3 reordered" of browser/guest 1043). A send never reported issued has no
    // known place and is not judged for order.
    issuedOrder.sort((x, y) => x.at - y.at || x.n - y.n);
    const rank = new Map(issuedOrder.map(({ text }, i) => [text, i]));
    const plan = tabs.flatMap((t) =>
      t.groups
        .flatMap((g) => g.texts)
        .map((text) => ({ text, key: `t${t.tab}`, order: rank.get(text), slot: t.tab })),
    );
    const counts = analyse({
      plan,
      committed,
      ids,
      deliveries: c.delivered(),
      attempts: c.attempts(),
      left,
      disruptions,
      clientFailures,
      ...(guest
        ? {}
        : { requests: [...requests.values()].filter((q) => q.start !== undefined), deaths }),
    });
    const failures = [];
    if (counts.lost) failures.push(`${counts.lost} lost`);
    if (counts.duplicated) failures.push(`${counts.duplicated} duplicated`);
    // guest: counted from the simulator's side only (an estimate: reported, not a failure by
    // itself; a guest repeat that was stored again is a duplicate, which fails)
    if (counts.unneeded && schedule.transport !== 'guest')
      failures.push(`${counts.unneeded} repeats not needed`);
    if (counts.reordered) failures.push(`${counts.reordered} reordered`);
    if (counts.stuck)
      failures.push(`${counts.stuck} stuck${stuckTimeout ? ' (drain timed out)' : ''}`);
    if (unhandled)
      failures.push(
        `${unhandled} unhandled: ${[...new Set(unhandledMessages)].slice(0, 3).join(' / ')}`,
      );
    if (counts.reordered) {
      counts.detail.issuedOrder = issuedOrder.map((x) => x.text);
      counts.detail.deliveredOrder = c.delivered().map((d) => d.text);
    }
    return {
      ...counts,
      kills,
      unhandled,
      failures,
      ms: Date.now() - started,
      variant: `${schedule.kind}`,
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    if (b) {
      await b.browser.close().catch(() => {});
      await b.kill(); // and every helper process still holding the profile
    }
    await sim.close();
    // Chromium's helper processes may still be writing to the profile for a moment
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    } catch {
      // left in the temporary directory
    }
  }
}
