// Privacy in real Chromium (docs/privacy.md): encrypted records are unreadable in the raw
// IndexedDB; wipe() in one tab empties the database and closes the other tab's outbox; a reload
// after wipe() starts fresh, with a new Genesys session; tabs opening an encrypted outbox at once
// on a first visit share one generated key and one session.
import { expect, harnessPage, loadHarness, test, uniqueName, waitFor } from './fixtures.mjs';

const guest = (sim) => ({ wsUrl: sim.wsUrl, apiBaseUrl: sim.url, deploymentId: 'sim-deployment' });

async function openOutbox({ sim, origin }, context, name, extra = {}) {
  const page = await harnessPage(context, origin.page);
  await page.evaluate((o) => window.h.start(o), { name, guest: guest(sim), ...extra });
  return page;
}

/** The simulator's session that received the message `id` (the simulator lives per worker). */
const sessionOf = (sim, id) =>
  sim.control.sessions().find((s) => s.messages.some((m) => m.tracingId === id));

const marker = (s) => `private-${s}-${Math.random().toString(36).slice(2)}`;

test('encryption: texts, metadata, transcript lines and the session token are unreadable in the raw IndexedDB', async ({
  browser,
  sim,
  origin,
}) => {
  const context = await browser.newContext();
  try {
    const name = uniqueName();
    const page = await openOutbox({ sim, origin }, context, name, { encryption: {} });
    const sent = marker('sent');
    const [id] = await page.evaluate((t) => window.h.send([t]), sent);
    await waitFor(
      'delivered',
      async () => (await page.evaluate(() => window.h.list())).length === 0,
    );
    const session = sessionOf(sim, id);
    const agent = marker('agent');
    sim.control.agentMessage(session.token, agent);
    await context.setOffline(true);
    const queued = marker('queued');
    const [queuedId] = await page.evaluate((t) => window.h.send([t]), queued);
    await waitFor('the agent line', async () =>
      (await page.evaluate(() => window.h.outbox.transcript.list('c1'))).some(
        (r) => r.text === agent,
      ),
    );
    const lines = await page.evaluate(() => window.h.outbox.transcript.list('c1'));
    expect(lines.map((r) => r.text)).toEqual(expect.arrayContaining([sent, agent, queued]));
    const raw = await page.evaluate((n) => window.h.rawDatabase(n), name);
    expect(raw).toContain(id); // ids are clear
    expect(raw).toContain(queuedId);
    expect(raw).toContain('"CryptoKey":"AES-GCM","extractable":false');
    for (const s of [sent, agent, queued, 'guestId', session.token]) expect(raw).not.toContain(s);
    await context.setOffline(false);
  } finally {
    await context.close();
  }
});

test('turning encryption on for an existing IndexedDB store: after the sweep no record read with plain IndexedDB calls holds plaintext', async ({
  browser,
  sim,
  origin,
}) => {
  const context = await browser.newContext();
  try {
    const name = uniqueName();
    const page = await harnessPage(context, origin.page);
    const secret = marker('before-encryption');
    // 450 lines of a conversation nobody lists: more than two of the sweep's steps of 200.
    await page.evaluate(([n, m]) => window.h.seedPlaintext(n, m, 450), [name, secret]);
    const raw = () => page.evaluate((n) => window.h.rawDatabase(n), name);
    expect((await raw()).split(secret).length - 1).toBe(454); // entry text + metadata, 451 lines, meta
    await context.setOffline(true); // the entry stays queued, at rest
    await page.evaluate((o) => window.h.start(o), {
      name,
      guest: guest(sim),
      encryption: {},
    });
    await waitFor('the sweep sealed everything', async () => !(await raw()).includes(secret));
    const after = await raw();
    expect(after).toContain('"swept":true');
    expect(after).toContain('"CryptoKey":"AES-GCM","extractable":false');
    // Still readable through the outbox (its key), in order.
    const lines = await page.evaluate(() => window.h.outbox.transcript.list('never-listed'));
    expect(lines.length).toBe(450);
    expect(lines[0].text).toBe(`line 1 ${secret}`);
    expect(lines.at(-1).text).toBe(`line 450 ${secret}`);
    const [queued] = await page.evaluate(() => window.h.outbox.list());
    expect(queued).toMatchObject({
      text: `queued ${secret}`,
      metadata: { note: `meta ${secret}` },
    });
    await context.setOffline(false);
  } finally {
    await context.close();
  }
});

test('wipe() in one tab: Genesys session cleared, database deleted, the other tab closed; a reload starts fresh', async ({
  browser,
  sim,
  origin,
}) => {
  test.setTimeout(30_000);
  const context = await browser.newContext();
  try {
    const name = uniqueName();
    const a = await openOutbox({ sim, origin }, context, name, { encryption: {} });
    const b = await openOutbox({ sim, origin }, context, name, { encryption: {} });
    const [id] = await a.evaluate((t) => window.h.send([t]), marker('before'));
    await waitFor('b sees it delivered', async () =>
      (await b.evaluate(() => window.h.seen('sent'))).includes(id),
    );
    const before = sessionOf(sim, id);
    expect(before.cleared).toBe(false);
    // Clearing is a deployment setting (off by default, as in Genesys): on here.
    sim.control.setDeploymentSettings({ conversationClear: { enabled: true } });
    await a.evaluate(() => window.h.outbox.wipe());
    // The Genesys side: the session was cleared, its token no longer resumes it.
    const after = sim.control.sessions().find((s) => s.token === before.token);
    expect(after.cleared).toBe(true);
    expect(after.previousConversations.map((c) => c.conversationId)).toContain(
      before.conversationId,
    );
    // Every local trace: the outbox's database (entries, transcript, token, key) is gone.
    expect(await a.evaluate((n) => window.h.rawDatabase(n), name)).toBeNull();
    // The other tab heard of it and closed its outbox.
    await waitFor(
      'b closed',
      async () =>
        (await b.evaluate(() => window.h.events.some((e) => e.type === 'wiped'))) &&
        (await b.evaluate(() => window.h.trySend('after'))).code === 'closed',
    );
    expect(await a.evaluate((n) => window.h.rawDatabase(n), name)).toBeNull();

    // A reload: a fresh outbox, an empty transcript, a new Genesys session and conversation.
    await loadHarness(a, origin.page);
    await a.evaluate((o) => window.h.start(o), { name, guest: guest(sim), encryption: {} });
    expect(await a.evaluate(() => window.h.list())).toEqual([]);
    expect(await a.evaluate(() => window.h.outbox.transcript.list('c1'))).toEqual([]);
    const [next] = await a.evaluate((t) => window.h.send([t]), marker('after'));
    await waitFor('delivered', () => sessionOf(sim, next) !== undefined);
    const fresh = sessionOf(sim, next);
    expect(fresh.cleared).toBe(false);
    expect(fresh.token).not.toBe(before.token);
    expect(fresh.conversationId).not.toBe(before.conversationId);
  } finally {
    await context.close();
  }
});

test('encryption, three tabs on a first visit starting at once (three times): one generated key, one session; after they close, a new tab delivers every tab\u2019s messages', async ({
  browser,
  sim,
  origin,
}) => {
  test.setTimeout(60_000);
  // Before setMetaIfAbsent each tab could keep the key it made: a round lost a tab's message
  // (quarantined as corrupt in the new tab) about one time in three.
  for (let round = 0; round < 3; round++) {
    const context = await browser.newContext();
    try {
      const name = uniqueName();
      const tabs = await Promise.all([0, 1, 2].map(() => harnessPage(context, origin.page)));
      await context.setOffline(true);
      const options = { name, guest: guest(sim), encryption: {} };
      await Promise.all(tabs.map((p) => p.evaluate((o) => window.h.start(o), options)));
      const ids = [];
      for (const [i, tab] of tabs.entries()) {
        ids.push(...(await tab.evaluate((t) => window.h.send([t]), marker(`tab-${i}`))));
      }
      for (const tab of tabs) await tab.close();
      await context.setOffline(false);
      const fresh = await harnessPage(context, origin.page);
      await fresh.evaluate((o) => window.h.start(o), options);
      await waitFor(
        `round ${round}: every tab's message delivered`,
        () => ids.every((id) => sessionOf(sim, id) !== undefined),
        20_000,
      );
      expect(new Set(ids.map((id) => sessionOf(sim, id).token)).size, 'sessions').toBe(1);
      const corrupt = await fresh.evaluate(() =>
        window.h.events.filter((e) => e.type === 'corrupt-record'),
      );
      expect(corrupt).toEqual([]);
    } finally {
      await context.close();
    }
  }
});
