// Two tabs claiming the same transcript keys at once in real Chromium (outbox.transcript.claim,
// the Open Messaging de-duplication): the IndexedDB store reads and writes each claim in one
// readwrite transaction, so exactly one tab wins each key. Each tab opens its own store on one
// database and fires its claims at the same wall-clock moment.
import { expect, harnessPage, test, uniqueName } from './fixtures.mjs';

test('two tabs claiming 30 keys at once: one winner per key', async ({ browser, origin }) => {
  const context = await browser.newContext();
  try {
    const name = uniqueName();
    const tabs = [];
    for (let i = 0; i < 2; i++) {
      tabs.push(await harnessPage(context, origin.page));
    }
    const at = Date.now() + 1500;
    const results = await Promise.all(
      tabs.map((page, tab) =>
        page.evaluate(
          async ({ name, at, tab }) => {
            const store = window.h.lib.indexedDbStore({ name });
            await store.open();
            await store.getTranscript('warm-up'); // the operations chunk is here
            while (Date.now() < at) await new Promise((r) => setTimeout(r, 1));
            const won = await Promise.all(
              Array.from({ length: 30 }, (_, k) =>
                store.claimTranscript(
                  {
                    key: `m${k}`,
                    conversationId: 'c1',
                    direction: 'Outbound',
                    text: `tab ${tab}`,
                    time: 1,
                    order: 1000 + k,
                    handoff: { state: 'pending', since: Date.now() },
                  },
                  0,
                ),
              ),
            );
            const texts = (await store.listTranscript('c1')).map((l) => [l.key, l.text]);
            await store.close();
            return { won, texts };
          },
          { name, at, tab },
        ),
      ),
    );
    for (let k = 0; k < 30; k++) {
      expect([results[0].won[k], results[1].won[k]].filter(Boolean), `key m${k}`).toHaveLength(1);
    }
    // what is stored is the winner's line
    const stored = new Map(results[1].texts);
    for (let k = 0; k < 30; k++) {
      expect(stored.get(`m${k}`)).toBe(results[0].won[k] ? 'tab 0' : 'tab 1');
    }
  } finally {
    await context.close();
  }
});
