// genesys-webmessaging-outbox/react in real Chromium: the demo's chat list in React 19
// (test/browser/pages/react/chat.jsx, bundled by global-setup.mjs) through an outage.
import {
  TUTORIAL_PATH,
  assertDeliveredOnce,
  expect,
  test,
  uniqueName,
  watchPage,
} from './fixtures.mjs';

/** The chat's own lines: `[text, status]` in screen order. */
const mine = (page) =>
  page.$$eval('#messages li.mine', (lis) =>
    lis.map((li) => [li.querySelector('.text').textContent, li.dataset.status]),
  );

async function type(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
  await page.waitForFunction(() => document.getElementById('text').value === '');
}

test('react: the chat list shows messages queued offline, then sent in order when the network returns', async ({
  browser,
  sim,
  token,
  origin,
}) => {
  const context = await browser.newContext();
  try {
    const page = watchPage(await context.newPage());
    const errors = [];
    page.on('console', (m) => {
      // (the favicon's 404 and the rejected message's 400 are the network's, not React's)
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
        errors.push(m.text());
      }
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${origin.url}/test/browser/pages/react.html`);
    await page.waitForFunction(() => window.chat?.ready === true);
    await page.evaluate((o) => window.chat.start(o), {
      url: `${sim.url}${TUTORIAL_PATH}`,
      token,
      name: uniqueName(),
    });

    await type(page, 'before');
    await expect.poll(() => mine(page), { message: "'before' sent" }).toEqual([['before', 'sent']]);
    await expect(page.locator('#banner')).toHaveAttribute('data-state', 'online');

    await context.setOffline(true);
    await expect(page.locator('#banner')).toHaveAttribute('data-state', 'offline');
    const during = ['one', 'two', 'three'];
    for (const t of during) await type(page, t);
    await expect
      .poll(() => mine(page), { message: 'the queued lines' })
      .toEqual([['before', 'sent'], ...during.map((t) => [t, 'pending'])]);
    await expect(page.locator('#waiting')).toHaveText(' (3 waiting)');
    await expect(page.locator('#messages li.mine .status').last()).toHaveText('queued');

    await context.setOffline(false);
    await expect
      .poll(() => mine(page), { message: 'every line sent', timeout: 15_000 })
      .toEqual([['before', 'sent'], ...during.map((t) => [t, 'sent'])]);
    await expect(page.locator('#banner')).toHaveAttribute('data-state', 'online');
    await expect(page.locator('#waiting')).toHaveCount(0);
    const ids = await page.evaluate(() =>
      window.chat.outbox.transcript.list('react-chat').then((l) => l.map((r) => r.key)),
    );
    expect(ids).toHaveLength(4);
    assertDeliveredOnce(sim, ids);
    expect(
      sim.control
        .delivered()
        .filter((r) => ids.includes(r.externalId))
        .map((r) => r.text),
      'what the simulator stored',
    ).toEqual(['before', ...during]);

    // A rejected message: the next POST to the endpoint is answered 400 (by the browser's network
    // layer); the failed line shows its reason and Discard (from useOutboxEntries) removes it.
    let rejectNext = true;
    await context.route(`${sim.url}${TUTORIAL_PATH}`, (route) => {
      if (route.request().method() !== 'POST' || !rejectNext) return route.continue();
      rejectNext = false;
      return route.fulfill({
        status: 400,
        headers: { 'access-control-allow-origin': '*', 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'Bad request', code: 'bad.request', status: 400 }),
      });
    });
    await type(page, 'rejected');
    await expect
      .poll(() => mine(page), { message: 'the failed line' })
      .toContainEqual(['rejected', 'failed']);
    await expect(page.locator('#messages li[data-status="failed"] .reason')).not.toBeEmpty();
    await page.click('#messages li[data-status="failed"] button[data-op="discard"]');
    await expect
      .poll(() => mine(page), { message: 'the discarded line gone' })
      .toEqual([['before', 'sent'], ...during.map((t) => [t, 'sent'])]);
    expect(errors, 'console errors (React warns here about uncached snapshots)').toEqual([]);
  } finally {
    await context.close();
  }
});
