// The demo page (demo/), driven through its UI in real Chromium, against the simulator that
// `npm start` runs. Each test starts its own demo (the `demo` fixture: simulator + page server,
// ports 0). Screenshots go to test-results/ (gitignored); DEMO_SCREENSHOT=docs/demo.png also
// writes the README screenshot.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, expect, test, waitFor, watchPage } from './fixtures.mjs';

const RESULTS = join(ROOT, 'test-results');

async function openPage(context, demo, viewport = { width: 1000, height: 760 }) {
  const page = watchPage(await context.newPage());
  await page.setViewportSize(viewport);
  await page.goto(demo.url);
  await ready(page);
  return page;
}

async function ready(page) {
  await page.waitForFunction(() => window.demo?.ready === true, undefined, { timeout: 10_000 });
}

/** Types a message in the box and presses Enter (keyboard only), waits until the box is cleared. */
async function type(page, text) {
  await page.focus('#text');
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('text').value === '');
}

/** The guest's own lines: `[text, status]` in screen order. */
function mine(page) {
  return page.$$eval('#messages li.mine', (lis) =>
    lis.map((li) => [li.querySelector('.text').textContent, li.dataset.status]),
  );
}

/** Agent/bot lines' texts in screen order. */
function theirs(page) {
  return page.$$eval('#messages li.theirs .text', (ps) => ps.map((p) => p.textContent));
}

/** Waits until the guest's lines are exactly `expected` (the failure shows what the screen had). */
async function waitStatuses(page, expected, what, ms = 15_000) {
  await expect
    .poll(() => mine(page), { message: `waiting for ${what}`, timeout: ms, intervals: [20, 50] })
    .toEqual(expected);
}

/** Guest (Inbound) texts the simulator stored, in order, over every session and conversation. */
function storedGuestTexts(demo) {
  const texts = [];
  for (const s of demo.sim.control.sessions()) {
    for (const c of [...s.previousConversations, { messages: s.messages }]) {
      for (const m of c.messages) if (m.direction === 'Inbound') texts.push(m.text);
    }
  }
  return texts;
}

async function shot(page, name) {
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, name), fullPage: true });
}

async function click(page, action) {
  await page.click(`[data-action="${action}"]`);
  await page.waitForFunction(
    (a) => document.getElementById('fault-state').dataset.last === a,
    action,
  );
}

const screenLines = (page) =>
  page.$$eval('#messages li', (lis) =>
    lis.map(
      (li) => `${li.className}|${li.dataset.status ?? ''}|${li.querySelector('.text').textContent}`,
    ),
  );

test('demo: messages typed during an outage show queued, then sent in order; a reload keeps the transcript', async ({
  context,
  demo,
}) => {
  const page = await openPage(context, demo);
  // No request of the page may fail: the connectivity probe during the outage included.
  const notFound = [];
  page.on('response', (r) => r.status() === 404 && notFound.push(r.url()));
  await type(page, 'hello');
  await waitStatuses(page, [['hello', 'sent']], "'hello' sent");
  await waitFor('the bot reply', async () => (await theirs(page)).length >= 1);

  await click(page, 'outageOn');
  const during = ['one', 'two', 'three'];
  for (const t of during) await type(page, t);
  const queued = await mine(page);
  expect(
    queued.slice(1).map(([t]) => t),
    'lines typed during the outage',
  ).toEqual(during);
  for (const [t, status] of queued.slice(1)) {
    expect(['pending', 'sending'], `'${t}' is ${status} during the outage`).toContain(status);
  }
  const label = await page.textContent('#messages li.mine:last-child .status');
  expect(label, `status label during the outage: ${label}`).toMatch(/queued|waiting|sending/i);
  await waitFor(
    'the banner to leave "online"',
    async () => (await page.getAttribute('#banner', 'data-state')) === 'reconnecting',
  );
  await shot(page, 'demo-outage.png');

  await click(page, 'outageOff');
  const all = ['hello', ...during];
  await waitStatuses(
    page,
    all.map((t) => [t, 'sent']),
    'every message sent after the outage',
    30_000,
  );
  expect(storedGuestTexts(demo), 'what the simulator stored (order, no duplicates)').toEqual(all);
  await waitFor(
    'the banner back online',
    async () => (await page.getAttribute('#banner', 'data-state')) === 'online',
  );
  await waitFor('bot replies', async () => (await theirs(page)).length >= 2);
  await shot(page, 'demo-after-outage.png');

  const before = await screenLines(page);
  await page.reload();
  await ready(page);
  const after = await screenLines(page);
  expect(after, 'the transcript after a reload').toEqual(before);
  expect(notFound, 'requests answered 404').toEqual([]);
  test.info().annotations.push({
    type: 'transcript',
    description: `${before.length} lines kept across the reload`,
  });
});

test('demo: a rejected message shows its reason and can be retried or discarded', async ({
  context,
  demo,
}) => {
  const page = await openPage(context, demo);
  await type(page, 'first');
  await waitStatuses(page, [['first', 'sent']], "'first' sent");

  await click(page, 'reject');
  await type(page, 'rejected once');
  await waitStatuses(
    page,
    [
      ['first', 'sent'],
      ['rejected once', 'failed'],
    ],
    'the failure',
  );
  const reason = await page.textContent('#messages li[data-status="failed"] .reason');
  expect(reason, `reason shown: ${reason}`).toMatch(/4011/);
  await shot(page, 'demo-failed.png');
  // Keyboard only: Tab to the Retry button of the failed line and press Enter.
  await page.focus('#messages li[data-status="failed"] button[data-op="retry"]');
  await page.keyboard.press('Enter');
  await waitStatuses(
    page,
    [
      ['first', 'sent'],
      ['rejected once', 'sent'],
    ],
    'the retried message sent',
  );

  await click(page, 'reject');
  await type(page, 'to discard');
  await waitFor('the second failure', async () =>
    (await mine(page)).some(([t, s]) => t === 'to discard' && s === 'failed'),
  );
  await page.click('#messages li[data-status="failed"] button[data-op="discard"]');
  await waitStatuses(
    page,
    [
      ['first', 'sent'],
      ['rejected once', 'sent'],
    ],
    'the discarded message gone',
  );
  expect(storedGuestTexts(demo), 'what the simulator stored').toEqual(['first', 'rejected once']);
});

test('demo: two tabs show the same conversation and statuses; either tab can send', async ({
  context,
  demo,
}) => {
  const a = await openPage(context, demo);
  const b = await openPage(context, demo);
  await type(a, 'from tab A');
  await type(b, 'from tab B');
  const expected = [
    ['from tab A', 'sent'],
    ['from tab B', 'sent'],
  ];
  await waitStatuses(a, expected, 'tab A to show both sent');
  await waitStatuses(b, expected, 'tab B to show both sent');
  await waitFor('bot replies in tab A', async () => (await theirs(a)).length >= 2);
  await waitFor('bot replies in tab B', async () => (await theirs(b)).length >= 2);
  expect(storedGuestTexts(demo), 'stored once each').toEqual(['from tab A', 'from tab B']);
});

test('demo: usable at 360 px wide (no horizontal scroll), Enter sends', async ({
  browser,
  context,
  demo,
}) => {
  const page = await openPage(context, demo, { width: 360, height: 740 });
  await type(page, 'small screen');
  await waitStatuses(page, [['small screen', 'sent']], 'sent');
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow, 'horizontal overflow at 360 px').toBe(0);
  await shot(page, 'demo-360.png');
  if (process.env.DEMO_SCREENSHOT) await docsScreenshot(browser, demo);
});

test('demo: the bot and a disconnect are announced once each, the latency box shows what is active after a reload, the header fits narrow screens', async ({
  context,
  demo,
}) => {
  const page = await openPage(context, demo, { width: 360, height: 740 });
  const announced = () => page.$$eval('#announcer p', (ps) => ps.map((p) => p.textContent));
  expect(await page.textContent('header.top'), 'the header at 360 px').not.toMatch(
    /on\s+the\s+right/,
  );
  await type(page, 'hello');
  await waitFor('the bot reply', async () => (await theirs(page)).length >= 1);
  const [reply] = await theirs(page);
  expect(reply, 'the bot line').not.toMatch(/^Bot:/);
  expect(await page.textContent('#messages li.theirs .who')).toBe('Bot');
  await waitFor('the reply announced', async () =>
    (await announced()).some((t) => t.startsWith('Bot: ')),
  );
  expect(
    (await announced()).filter((t) => t.startsWith('Bot: ')),
    'the reply announced once, one "Bot:"',
  ).toEqual([`Bot: ${reply}`]);

  await click(page, 'agentDisconnect');
  const ended = 'The agent ended the conversation.';
  await waitFor('the disconnect line', async () =>
    (await page.$$eval('#messages li.event .text', (ps) => ps.map((p) => p.textContent))).includes(
      ended,
    ),
  );
  expect(
    (await announced()).filter((t) => t === ended),
    'announcements of the disconnect',
  ).toEqual([ended]);

  await page.fill('#latency', '300');
  await click(page, 'latency');
  await page.reload();
  await ready(page);
  await expect(page.locator('#latency'), 'the latency box after a reload').toHaveValue('300');
  await click(page, 'latencyOff');
});

test('demo: after the session expired, a marker shows where the new Genesys conversation begins', async ({
  context,
  demo,
}) => {
  const page = await openPage(context, demo);
  await type(page, 'in the first conversation');
  await waitFor('the bot reply', async () => (await theirs(page)).length >= 1);
  await click(page, 'expireSession');
  await type(page, 'in the second conversation');
  const marker = 'A new conversation started.';
  const lines = () =>
    page.$$eval('#messages li', (lis) =>
      lis.map((li) => li.querySelector('.text')?.textContent ?? ''),
    );
  await waitFor('the new-conversation marker', async () => (await lines()).includes(marker));
  const all = await lines();
  const at = (t) => all.findIndex((l) => l.includes(t));
  expect(at('in the first conversation'), 'the first message above the marker').toBeLessThan(
    at(marker),
  );
  expect(at(marker), 'the marker above the second message').toBeLessThan(
    at('in the second conversation'),
  );
  expect(
    all.filter((l) => l === marker),
    'one marker',
  ).toHaveLength(1);
});

test('demo: when a line turns into a failed bubble, its Retry and Discard stay in sight', async ({
  context,
  demo,
}) => {
  const page = await openPage(context, demo, { width: 360, height: 640 });
  // Enough lines that the list scrolls.
  for (let i = 1; i <= 6; i++) await type(page, `line ${i}`);
  await waitFor(
    'six lines sent',
    async () => (await mine(page)).filter(([, s]) => s === 'sent').length === 6,
  );
  await waitFor('the bot replies', async () => (await theirs(page)).length >= 6);
  expect(
    await page.$eval('#messages', (m) => m.scrollHeight > m.clientHeight),
    'the list scrolls',
  ).toBe(true);
  // Slow frames: the line shows as sending first, then turns into the failed bubble.
  await page.fill('#latency', '400');
  await click(page, 'latency');
  await click(page, 'reject');
  await type(page, 'this one is rejected');
  await waitFor('the failure', async () =>
    (await mine(page)).some(([t, s]) => t === 'this one is rejected' && s === 'failed'),
  );
  const inSight = (op) =>
    page.$eval(`#messages li[data-status="failed"] button[data-op="${op}"]`, (b) => {
      const r = b.getBoundingClientRect();
      const m = document.getElementById('messages').getBoundingClientRect();
      return r.top >= m.top - 1 && r.bottom <= m.bottom + 1;
    });
  await waitFor('Retry in sight', () => inSight('retry'));
  expect(await inSight('discard'), 'Discard in sight').toBe(true);
});

/** The README screenshot: a conversation with a sent message, a bot answer, an outage in progress. */
async function docsScreenshot(browser, demo) {
  const context = await browser.newContext({ deviceScaleFactor: 1 });
  try {
    const page = await openPage(context, demo, { width: 1000, height: 700 });
    await type(page, 'Hi! My order has not arrived yet.');
    await waitStatuses(page, [['Hi! My order has not arrived yet.', 'sent']], 'sent');
    await waitFor('the bot reply', async () => (await theirs(page)).length >= 1);
    await click(page, 'outageOn');
    await type(page, 'It was order 1234, placed last Monday.');
    await waitFor(
      'the banner',
      async () => (await page.getAttribute('#banner', 'data-state')) === 'reconnecting',
    );
    await page.locator('#text').blur();
    await page.screenshot({ path: join(ROOT, process.env.DEMO_SCREENSHOT) });
    await click(page, 'outageOff');
  } finally {
    await context.close();
  }
}
