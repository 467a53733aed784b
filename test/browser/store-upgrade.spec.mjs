// The IndexedDB store's schema upgrade in real Chromium: a database as an earlier release (schema
// v3, v4, v5, v6) left it, with a tab of that release still holding it open, is upgraded to v7 by the
// current store without losing an entry, a meta value or a transcript line; order keys stay above
// every key the old database held, even after all of its entries are gone (the high-water mark the
// upgrade keeps). Unit tests cover the same on fake-indexeddb; this checks Chromium's own
// versionchange and deleteIndex-inside-the-upgrade behaviour.
import { expect, harnessPage, test, uniqueName } from './fixtures.mjs';

test('schema v3 → v7 in Chromium: entries, meta, transcript kept; keys stay above the old ones', async ({
  browser,
  origin,
}) => {
  const context = await browser.newContext();
  try {
    const page = await harnessPage(context, origin.page);
    const r = await page.evaluate(async (name) => {
      const done = (x) =>
        new Promise((resolve, reject) => {
          x.onsuccess = x.oncomplete = () => resolve(x.result);
          x.onerror = () => reject(x.error);
        });
      const t0 = (Date.now() + 3_600_000) * 1000; // keys an hour ahead of the clock
      const entry = (i, conversationId, status, extra = {}) => ({
        id: `00000000-0000-4000-8000-00000000000${i}`,
        conversationId,
        text: `m${i}`,
        status,
        attempts: status === 'failed' ? 3 : 0,
        createdAt: 1_764_600_000_000 + i,
        order: t0 + i,
        seq: t0 + 10 * i,
        ...(status === 'pending' || status === 'sending'
          ? { queueConversationId: conversationId }
          : {}),
        ...extra,
      });
      /** What append takes: no order key, no index field. */
      const fresh = (i) => {
        const { seq: _s, queueConversationId: _q, ...e } = entry(i, 'a', 'pending');
        return e;
      };
      const old = [
        entry(1, 'a', 'pending'),
        entry(2, 'b', 'failed', { lastError: { code: 'rejected', message: 'no' } }),
        entry(3, 'b', 'pending', { metadata: { k: 'v' } }),
        entry(4, 'a', 'sending', { inDoubtSince: 1_764_600_000_100 }),
      ];
      const lines = [
        {
          key: 'l1',
          conversationId: 'a',
          direction: 'Inbound',
          text: '1',
          time: 5,
          order: 900,
          n: 1,
        },
        {
          key: 'l2',
          conversationId: 'a',
          direction: 'Outbound',
          text: '2',
          time: 1,
          order: 950,
          n: 2,
        },
      ];
      // The previous release's schema, and a tab of it that stays open (it closes on versionchange).
      const open = indexedDB.open(name, 3);
      open.onupgradeneeded = () => {
        const db = open.result;
        const entries = db.createObjectStore('entries', { keyPath: 'id' });
        entries.createIndex('seq', 'seq');
        entries.createIndex('heads', ['queueConversationId', 'seq']);
        db.createObjectStore('meta');
        const transcript = db.createObjectStore('transcript', { keyPath: 'key' });
        transcript.createIndex('byTime', ['conversationId', 'time', 'n']);
        transcript.createIndex('byOrder', ['conversationId', 'order', 'time', 'n']);
        db.createObjectStore('quarantine', { autoIncrement: true });
      };
      const oldTab = await done(open);
      let oldTabClosed = false;
      oldTab.onversionchange = () => {
        oldTabClosed = true;
        oldTab.close();
      };
      const tx = oldTab.transaction(['entries', 'meta', 'transcript'], 'readwrite');
      for (const e of old) tx.objectStore('entries').put(e);
      tx.objectStore('meta').put('tok', 'session');
      tx.objectStore('meta').put(2, ['tn']);
      for (const l of lines) tx.objectStore('transcript').put(l);
      await done(tx);

      const s = window.h.lib.indexedDbStore({ name });
      const list = await s.list();
      const heads = await s.heads();
      const meta = await s.getMeta('session');
      const transcript = await s.listTranscript('a');
      const [added] = await s.append([fresh(5)]);
      await s.close();

      const raw = await done(indexedDB.open(name));
      const rtx = raw.transaction(['entries', 'transcript']);
      const indexes = {
        version: raw.version,
        entries: [...rtx.objectStore('entries').indexNames].sort(),
        transcript: [...rtx.objectStore('transcript').indexNames].sort(),
      };
      raw.close();

      // Everything goes; a reopened store still hands out keys above every old one.
      const s2 = window.h.lib.indexedDbStore({ name });
      for (const e of [...old, added]) await s2.remove(e.id);
      const left = await s2.count();
      await s2.close();
      const s3 = window.h.lib.indexedDbStore({ name });
      const [later] = await s3.append([fresh(6)]);
      await s3.close();
      await done(indexedDB.deleteDatabase(name));
      const strip = ({ queueConversationId: _q, ...e }) => e;
      return {
        oldTabClosed,
        listOk: JSON.stringify(list) === JSON.stringify(old.map(strip)),
        heads: heads.map((e) => e.id.slice(-1)),
        meta,
        transcript: transcript.map((l) => [l.key, l.order, l.text]),
        addedAbove: added.seq > t0 + 40,
        indexes,
        left,
        laterAbove: later.seq > added.seq,
      };
    }, uniqueName());
    expect(r).toEqual({
      oldTabClosed: true,
      listOk: true,
      heads: ['1', '3'],
      meta: 'tok',
      transcript: [
        ['l1', 900, '1'],
        ['l2', 950, '2'],
      ],
      addedAbove: true,
      indexes: { version: 7, entries: ['heads', 'ids'], transcript: ['byOrder'] },
      left: 0,
      laterAbove: true,
    });
  } finally {
    await context.close();
  }
});

test('schema v4 → v7 in Chromium: the top index goes; keys stay above a failed entry and a removed one', async ({
  browser,
  origin,
}) => {
  const context = await browser.newContext();
  try {
    const page = await harnessPage(context, origin.page);
    const r = await page.evaluate(async (name) => {
      const done = (x) =>
        new Promise((resolve, reject) => {
          x.onsuccess = x.oncomplete = () => resolve(x.result);
          x.onerror = () => reject(x.error);
        });
      const t0 = (Date.now() + 3_600_000) * 1000; // keys an hour ahead of the clock
      const entry = (i, status, extra) => ({
        id: `00000000-0000-4000-8000-00000000000${i}`,
        conversationId: 'a',
        text: `m${i}`,
        status,
        attempts: 0,
        createdAt: 1_764_600_000_000 + i,
        seq: t0 + i,
        ...extra,
      });
      // v4 as it was written: a queued entry, then a failed one carrying its write's top (the
      // highest key); meta holds the top of an entry removed earlier.
      const old = [
        entry(1, 'pending', { queueConversationId: 'a', top: t0 + 1 }),
        entry(3, 'failed', { top: t0 + 3, lastError: { code: 'rejected', message: 'no' } }),
      ];
      const open = indexedDB.open(name, 4);
      open.onupgradeneeded = () => {
        const db = open.result;
        const entries = db.createObjectStore('entries', { keyPath: 'id' });
        entries.createIndex('heads', ['queueConversationId', 'seq']);
        entries.createIndex('top', 'top');
        db.createObjectStore('meta');
        const transcript = db.createObjectStore('transcript', { keyPath: 'key' });
        transcript.createIndex('byOrder', ['conversationId', 'order', 'time', 'n']);
        db.createObjectStore('quarantine', { autoIncrement: true });
      };
      const oldTab = await done(open);
      let oldTabClosed = false;
      oldTab.onversionchange = () => {
        oldTabClosed = true;
        oldTab.close();
      };
      const tx = oldTab.transaction(['entries', 'meta'], 'readwrite');
      for (const e of old) tx.objectStore('entries').put(e);
      tx.objectStore('meta').put(t0 + 2, ['top']);
      tx.objectStore('meta').put('tok', 'session');
      await done(tx);

      const s = window.h.lib.indexedDbStore({ name });
      const list = await s.list();
      const heads = await s.heads();
      await s.remove(old[0].id); // the only queued one: nothing in `heads` any more
      await s.close();
      const raw = await done(indexedDB.open(name));
      const indexes = {
        version: raw.version,
        entries: [...raw.transaction('entries').objectStore('entries').indexNames],
      };
      raw.close();
      const s2 = window.h.lib.indexedDbStore({ name });
      const { seq: _s, queueConversationId: _q, top: _t, ...fresh } = entry(5, 'pending', {});
      const [later] = await s2.append([fresh]);
      const meta = await s2.getMeta('session');
      await s2.close();
      await done(indexedDB.deleteDatabase(name));
      return {
        oldTabClosed,
        list: list.map((e) => [e.id.slice(-1), e.status, 'top' in e, 'queueConversationId' in e]),
        heads: heads.map((e) => e.id.slice(-1)),
        indexes,
        meta,
        laterAbove: later.seq > t0 + 3,
      };
    }, uniqueName());
    expect(r).toEqual({
      oldTabClosed: true,
      list: [
        ['1', 'pending', false, false],
        ['3', 'failed', false, false],
      ],
      heads: ['1'],
      indexes: { version: 7, entries: ['heads', 'ids'] },
      meta: 'tok',
      laterAbove: true,
    });
  } finally {
    await context.close();
  }
});

test('schema v5 → v7 in Chromium: entries kept; a burst is one entry of `heads` per 64, delivered in order after a reopen', async ({
  browser,
  origin,
}) => {
  const context = await browser.newContext();
  try {
    const page = await harnessPage(context, origin.page);
    const r = await page.evaluate(async (name) => {
      const done = (x) =>
        new Promise((resolve, reject) => {
          x.onsuccess = x.oncomplete = () => resolve(x.result);
          x.onerror = () => reject(x.error);
        });
      const t0 = (Date.now() + 3_600_000) * 1000; // keys an hour ahead of the clock
      const entry = (i, conversationId, status) => ({
        id: `00000000-0000-4000-8000-00000000000${i}`,
        conversationId,
        text: `m${i}`,
        status,
        attempts: 0,
        createdAt: 1_764_600_000_000 + i,
        seq: t0 + i,
        // v5: every entry in `heads`, the failed ones past every conversation ([]).
        queueConversationId: status === 'failed' ? [] : conversationId,
      });
      const old = [entry(1, 'a', 'pending'), entry(2, 'b', 'failed'), entry(3, 'a', 'pending')];
      const oldTab = await window.h.oldDatabase(name, 5, old, [['session', 'tok']]);

      const s = window.h.lib.indexedDbStore({ name });
      const list = await s.list();
      const heads = await s.heads();
      await s.heads(); // the operations chunk is here: the burst is written as packs
      const fresh = (i) => ({
        id: `00000000-0000-4000-8000-1${String(i).padStart(11, '0')}`,
        conversationId: i % 2 ? 'a' : 'c',
        text: `burst ${i}`,
        status: 'pending',
        attempts: 0,
        createdAt: Date.now(),
      });
      const burst = await s.append(
        Array.from({ length: 200 }, (_, i) => fresh(i)),
        { generatedIds: true },
      );
      await s.close();
      const raw = await done(indexedDB.open(name));
      const rtx = raw.transaction('entries');
      const version = raw.version;
      const indexed = await done(rtx.objectStore('entries').index('heads').count());
      raw.close();
      // A reopened store (a new page) drains every conversation in key order: head, remove, head…
      const s2 = window.h.lib.indexedDbStore({ name });
      const delivered = { a: [], c: [] };
      for (;;) {
        const hs = await s2.heads();
        const h = hs.find((e) => e.conversationId !== 'b');
        if (h === undefined) break;
        delivered[h.conversationId].push(h.id);
        await s2.remove(h.id);
      }
      const left = (await s2.list()).map((e) => e.id.slice(-1));
      const meta = await s2.getMeta('session');
      const [later] = await s2.append(
        [fresh(1)].map((e) => ({ ...e, id: `${e.id.slice(0, -1)}x` })),
      );
      await s2.close();
      await done(indexedDB.deleteDatabase(name));
      const ids = (c) =>
        [...old, ...burst]
          .filter((e) => e.conversationId === c && e.status === 'pending')
          .map((e) => e.id);
      return {
        oldTabClosed: oldTab.closedByUpgrade(),
        list: list.map((e) => [e.id.slice(-1), e.status]),
        heads: heads.map((e) => e.id.slice(-1)),
        version,
        // 3 old entries, one holder per 64 entries of each conversation of the burst (100 each)
        indexed,
        inOrder: JSON.stringify(delivered) === JSON.stringify({ a: ids('a'), c: ids('c') }),
        delivered: delivered.a.length + delivered.c.length,
        left,
        meta,
        laterAbove: later.seq > burst.at(-1).seq,
      };
    }, uniqueName());
    expect(r).toEqual({
      oldTabClosed: true,
      list: [
        ['1', 'pending'],
        ['2', 'failed'],
        ['3', 'pending'],
      ],
      heads: ['1'],
      version: 7,
      indexed: 7,
      inOrder: true,
      delivered: 202,
      left: ['2'],
      meta: 'tok',
      laterAbove: true,
    });
  } finally {
    await context.close();
  }
});

test('schema v6 → v7 in Chromium: each run folds into one record; every entry kept, found by id, delivered in order', async ({
  browser,
  origin,
}) => {
  const context = await browser.newContext();
  try {
    const page = await harnessPage(context, origin.page);
    const r = await page.evaluate(async (name) => {
      const done = (x) =>
        new Promise((resolve, reject) => {
          x.onsuccess = x.oncomplete = () => resolve(x.result);
          x.onerror = () => reject(x.error);
        });
      const t0 = (Date.now() + 3_600_000) * 1000; // keys an hour ahead of the clock
      const id = (i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const entry = (i, conversationId, status, extra = {}) => ({
        id: id(i),
        conversationId,
        text: `m${i}`,
        status,
        attempts: 0,
        createdAt: 1_764_600_000_000 + i,
        seq: t0 + i,
        ...extra,
      });
      // v6 as it left a burst to `a` (1-5) and one to `b` (6-7): each run's first entry holds
      // the ids of the others (`rest`), which are records of their own outside `heads`. 4 failed
      // after the run was written (out of `rest`, in the NOT_QUEUED group); 9 is listed but gone.
      const old = [
        entry(1, 'a', 'pending', { queueConversationId: 'a', rest: [id(2), id(3), id(9), id(5)] }),
        entry(2, 'a', 'pending'),
        entry(3, 'a', 'sending'),
        entry(4, 'a', 'failed', { queueConversationId: [] }),
        entry(5, 'a', 'pending'),
        entry(6, 'b', 'pending', { queueConversationId: 'b', rest: [id(7)] }),
        entry(7, 'b', 'pending'),
        entry(8, 'c', 'pending', { queueConversationId: 'c' }),
      ];
      // The mark v6 raised to the run's highest key, and a meta value.
      const oldMeta = [
        [['top'], t0 + 9],
        ['session', 'tok'],
      ];
      const oldTab = await window.h.oldDatabase(name, 6, old, oldMeta);

      const s = window.h.lib.indexedDbStore({ name });
      const list = (await s.list()).map((e) => [e.id.slice(-1), e.status]);
      const heads = (await s.heads()).map((e) => e.id.slice(-1));
      const got = (await s.get(id(5)))?.text;
      const count = await s.count();
      await s.close();
      const raw = await done(indexedDB.open(name));
      const rtx = raw.transaction('entries');
      const records = (await done(rtx.objectStore('entries').getAll())).map((v) => [
        v.id.slice(-1),
        v.ids.map((x) => x.slice(-1)).join(''),
        'rest' in v,
      ]);
      const indexes = [...rtx.objectStore('entries').indexNames];
      raw.close();
      // A reopened store drains each conversation in key order: head, remove, head…
      const s2 = window.h.lib.indexedDbStore({ name });
      const delivered = [];
      for (;;) {
        const [h] = await s2.heads();
        if (h === undefined) break;
        delivered.push(h.id.slice(-1));
        await s2.remove(h.id);
      }
      const left = (await s2.list()).map((e) => e.id.slice(-1));
      const meta = await s2.getMeta('session');
      const [later] = await s2.append([
        {
          id: id(10),
          conversationId: 'a',
          text: 'x',
          status: 'pending',
          attempts: 0,
          createdAt: 1,
        },
      ]);
      await s2.close();
      await done(indexedDB.deleteDatabase(name));
      return {
        oldTabClosed: oldTab.closedByUpgrade(),
        list,
        heads,
        got,
        count,
        records,
        indexes,
        delivered,
        left,
        meta,
        laterAbove: later.seq > t0 + 9,
      };
    }, uniqueName());
    expect(r).toEqual({
      oldTabClosed: true,
      list: [
        ['1', 'pending'],
        ['2', 'pending'],
        ['3', 'sending'],
        ['4', 'failed'],
        ['5', 'pending'],
        ['6', 'pending'],
        ['7', 'pending'],
        ['8', 'pending'],
      ],
      heads: ['1', '6', '8'],
      got: 'm5',
      count: 8,
      // 2, 3, 5 folded into 1's record; 7 into 6's; 4 (failed) and 8 stay records of their own
      records: [
        ['1', '1235', false],
        ['4', '4', false],
        ['6', '67', false],
        ['8', '8', false],
      ],
      indexes: ['heads', 'ids'],
      delivered: ['1', '2', '3', '5', '6', '7', '8'],
      left: ['4'],
      meta: 'tok',
      laterAbove: true,
    });
  } finally {
    await context.close();
  }
});
