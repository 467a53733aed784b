// The IndexedDB store's append path in real Chromium (issue 15): the transaction is committed
// explicitly as soon as its requests are issued, and ids that send() generated are written with
// put. Neither may cost a guarantee: a duplicate id still rejects its whole batch (nothing of it
// stored), an append resolves only once its entries are readable from another connection, and a
// generated-id batch is stored and ordered like any other. Unit tests check the same on
// fake-indexeddb; this checks Chromium's own commit() with a request that fails after it.
import { expect, harnessPage, test, uniqueName } from './fixtures.mjs';

test('append in Chromium: explicit commit keeps a batch atomic, durable on resolve; generated ids stored in order', async ({
  browser,
  origin,
}) => {
  const context = await browser.newContext();
  try {
    const page = await harnessPage(context, origin.page);
    const r = await page.evaluate(async (name) => {
      const done = (x) =>
        new Promise((resolve, reject) => {
          x.onsuccess = () => resolve(x.result);
          x.onerror = () => reject(x.error);
        });
      let n = 0;
      const entry = (conversationId = 'a') => ({
        id: crypto.randomUUID(),
        conversationId,
        text: `m${++n}`,
        status: 'pending',
        attempts: 0,
        createdAt: Date.now(),
      });
      /** What another connection (another tab) reads right now. */
      const readElsewhere = async () => {
        const db = await done(indexedDB.open(name));
        const all = await done(db.transaction('entries').objectStore('entries').getAll());
        db.close();
        // Every entry of every record: its own and its pack's (v7).
        return all.flatMap((e) => [e.id, ...(e.pack ?? []).map((m) => m.id)]);
      };
      const store = window.h.lib.indexedDbStore({ name });
      await store.open();
      const first = await store.append([entry(), entry('b')]);
      const seenAfterFirst = await readElsewhere();
      // A duplicate in the second place: the explicit commit was already asked for when the add
      // of the duplicate fails; the first entry of the batch must not be stored.
      const fresh = entry();
      const dup = await store
        .append([fresh, { ...first[0], text: 'again' }])
        .then(() => 'resolved')
        .catch((e) => e.code);
      const generated = await store.append([entry(), entry('b'), entry()], { generatedIds: true });
      const seenAfterGenerated = await readElsewhere();
      const list = await store.list();
      const heads = await store.heads();
      await store.close();
      await done(indexedDB.deleteDatabase(name));
      const ids = (es) => es.map((e) => e.id);
      return {
        durableOnResolve: ids(first).every((id) => seenAfterFirst.includes(id)),
        dup,
        freshStored: list.some((e) => e.id === fresh.id),
        firstKept: list.find((e) => e.id === first[0].id)?.text === first[0].text,
        generatedDurable: ids(generated).every((id) => seenAfterGenerated.includes(id)),
        order: JSON.stringify(ids(list)) === JSON.stringify([...ids(first), ...ids(generated)]),
        increasing: list.every((e, i) => i === 0 || e.seq > list[i - 1].seq),
        heads: JSON.stringify(ids(heads)) === JSON.stringify(ids(first)),
      };
    }, uniqueName());
    expect(r).toEqual({
      durableOnResolve: true,
      dup: 'invalid-id',
      freshStored: false,
      firstKept: true,
      generatedDurable: true,
      order: true,
      increasing: true,
      heads: true,
    });
  } finally {
    await context.close();
  }
});
