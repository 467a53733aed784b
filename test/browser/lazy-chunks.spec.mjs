// Issue 15 in real Chromium: the package built with code splitting, as an app serves it. The
// outbox fetches its chunks (drain loop, store operations, outbox methods, transcript, sender or
// guest session, coordinator) as soon as it starts; a page that loaded online and is reloaded
// offline gets them from the HTTP cache, stores every message, lists them (the store operations'
// chunk) and delivers them once, in order, when the network returns.
import {
  TUTORIAL_PATH,
  assertDeliveredOnce,
  deliveredFor,
  expect,
  loadHarness,
  test,
  texts,
  uniqueName,
  waitFor,
  watchPage,
} from './fixtures.mjs';

const SPLIT = '/test-results/browser-pages/split/';

const transports = {
  http: () => ({}),
  guest: (sim) => ({
    guest: { wsUrl: sim.wsUrl, apiBaseUrl: sim.url, deploymentId: 'sim-deployment' },
  }),
};

for (const kind of ['http', 'guest']) {
  test(`split build (${kind}): the chunks are fetched at start; reloaded offline from the HTTP cache, every message is stored, listed and delivered once, in order`, async ({
    browser,
    sim,
    token,
    origin,
  }) => {
    test.setTimeout(40_000);
    const context = await browser.newContext();
    try {
      const name = uniqueName();
      const options = { url: `${sim.url}${TUTORIAL_PATH}`, token, name, ...transports[kind](sim) };
      const page = watchPage(await context.newPage());
      const fetched = new Set();
      page.on('request', (r) => {
        const path = new URL(r.url()).pathname;
        if (path.startsWith(SPLIT))
          fetched.add(path.slice(SPLIT.length).replace(/(-\w+)?\.js$/, ''));
      });
      await loadHarness(page, `${origin.page}?lib=split`);
      await page.evaluate((o) => window.h.start(o), options);
      // Fetched because the outbox started, before anything was sent.
      const atStart = ['dispatcher', 'indexedDbOps', 'methods', 'lines'].concat(
        kind === 'guest' ? ['session'] : ['post'],
      );
      await waitFor('the chunks fetched at start', () => atStart.every((c) => fetched.has(c)));
      expect([...fetched]).toContain('outbox'); // the first load itself

      await context.setOffline(true);
      const n = 5;
      const ids = await page.evaluate((t) => window.h.send(t), texts(`split ${kind}`, n));
      await loadHarness(page, `${origin.page}?lib=split`); // a fresh document, offline: the HTTP cache
      await page.evaluate((o) => window.h.start(o), options);
      const pending = await page.evaluate(() => window.h.list());
      expect(
        pending.map((e) => e.id),
        'entries after the offline reload',
      ).toEqual(ids);
      expect(deliveredFor(sim, ids).length, 'delivered while offline').toBe(0);

      await context.setOffline(false);
      await waitFor(`${n} deliveries`, () => deliveredFor(sim, ids).length === n, 20_000);
      assertDeliveredOnce(sim, ids);
      await waitFor(
        'empty outbox',
        async () => (await page.evaluate(() => window.h.list())).length === 0,
      );
    } finally {
      await context.close();
    }
  });
}

test('split build: a first visit whose layout chunk cannot be fetched makes no database; the next try in the same document fetches it, stores and delivers', async ({
  browser,
  sim,
  token,
  origin,
}) => {
  test.setTimeout(40_000);
  const context = await browser.newContext();
  try {
    const name = uniqueName();
    const options = { url: `${sim.url}${TUTORIAL_PATH}`, token, name };
    const page = watchPage(await context.newPage());
    const upgrade = /\/split\/indexedDbUpgrade(-\w+)?\.js$/;
    await page.route(upgrade, (route) => route.abort('internetdisconnected'));
    await loadHarness(page, `${origin.page}?lib=split`);
    const code = (n) =>
      page.evaluate(async (o) => {
        try {
          await window.h.start(o);
          return 'started';
        } catch (e) {
          return e.code ?? String(e);
        }
      }, n);
    expect(await code(options), 'createOutbox without the layout chunk').toBe('storage-failed');
    const names = async () =>
      page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
    expect(await names(), 'databases after the failed first open').not.toContain(name);

    // The chunk is reachable again. Chromium does not keep a failed dynamic import's fetch in
    // the document's module map: the next createOutbox in the same document fetches the chunk,
    // makes the database, stores and delivers.
    await page.unroute(upgrade);
    expect(await code(options), 'a second try in the same document').toBe('started');
    const ids = await page.evaluate((t) => window.h.send(t), texts('first visit', 3));
    await waitFor('3 deliveries', () => deliveredFor(sim, ids).length === 3, 20_000);
    assertDeliveredOnce(sim, ids);
    expect(await names()).toContain(name);
  } finally {
    await context.close();
  }
});
