// The benchmark page: the library as a user's bundler sees it (from the sources, minified by
// esbuild), workbox-background-sync's Queue, and the raw IndexedDB baselines. Every function on
// `window.bench` is driven by Playwright from bench/enqueue.mjs, bench/recovery.mjs, bench/idle.mjs.
import * as current from '../../src/index.ts';
// Another checkout's library (BENCH_BEFORE, see bench/lib/compile.mjs): kinds `before-<kind>`.
import * as before from 'bench-before-lib';

const { createOutbox, indexedDbStore } = current;
import { Queue } from 'workbox-background-sync';
import { CHAT_TEXTS } from '../lib/chatText.mjs';

const TEXT = 'x'.repeat(200); // 200 characters, as in the brief
let uniq = 0;
const freshName = (kind) => `bench-${kind}-${Date.now()}-${uniq++}`;

/** A transport that never completes an attempt (until the outbox closes): only enqueue is measured. */
function neverTransport(onFirst) {
  return {
    send(_entry, ctx) {
      onFirst?.();
      onFirst = undefined;
      return new Promise((resolve) => {
        const done = () =>
          resolve({ kind: 'retry', error: { code: 'closed', message: 'benchmark over' } });
        if (ctx.signal.aborted) done();
        else ctx.signal.addEventListener('abort', done, { once: true });
      });
    },
  };
}

function deleteDb(name) {
  return new Promise((resolve) => {
    const r = indexedDB.deleteDatabase(name);
    r.onsuccess = r.onerror = r.onblocked = () => resolve();
  });
}

async function clearWorkbox() {
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open('workbox-background-sync');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const tx = db.transaction(db.objectStoreNames, 'readwrite');
  for (const s of db.objectStoreNames) tx.objectStore(s).clear();
  await txDone(tx);
  db.close();
}

/**
 * The raw baselines and layout diagnostics, by kind: 'raw' no index, 'raw-indexed' the two
 * indexes of schema v3 (seq; [queueConversationId, seq]), 'raw-heads' / 'raw-heads-put' the one
 * index of schema v5 (heads), written with `add` / `put`; 'raw-ids' heads plus v7's unique
 * multiEntry `ids` index (every record carrying `ids: [id]`), written with put.
 */
const rawLayout = (kind) => ({
  indexes: { 'raw-indexed': 2, 'raw-heads': 1, 'raw-heads-put': 1, 'raw-ids': 3 }[kind] ?? 0,
  write: kind === 'raw-heads' ? 'add' : 'put',
});
const isRaw = (kind) => kind === 'raw' || kind.startsWith('raw-');

function openRaw(name, indexes = 0) {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(name, 1);
    r.onupgradeneeded = () => {
      const s = r.result.createObjectStore('s', { keyPath: 'id' });
      if (indexes === 2) s.createIndex('seq', 'seq');
      if (indexes >= 1) s.createIndex('heads', ['queueConversationId', 'seq']);
      if (indexes === 3) s.createIndex('ids', 'ids', { unique: true, multiEntry: true });
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** The same record shape the outbox stores, so the raw baseline writes as many bytes. */
const record = (i) => ({
  id: crypto.randomUUID(),
  conversationId: 'default',
  queueConversationId: 'default',
  text: TEXT,
  status: 'pending',
  attempts: 0,
  createdAt: Date.now(),
  seq: i + 1,
});

const txDone = (tx) =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error);
  });

/**
 * A coordinator that never makes this tab the leader and broadcasts nothing (diagnostic only): the
 * outbox then runs send() without the dispatcher looking at the store after each commit.
 */
const followerCoordinator = () => ({
  start() {},
  isLeader: () => false,
  broadcast() {},
  requestWake() {},
  close: async () => {},
});

/**
 * 'default': createOutbox({ transport, name }) as the README shows it (Web Locks coordinator,
 * BroadcastChannel, transcript on). 'lean': coordinator false, transcript false.
 * 'follower': lean without the dispatcher (diagnostic: the cost of send() + store.append alone).
 */
function outboxOptions(config, name, onFirst) {
  const base = { transport: neverTransport(onFirst), name };
  if (config === 'lean') return { ...base, coordinator: false, transcript: false };
  // 'encrypted': 'default' with encryption at rest (a generated, non-extractable key).
  if (config === 'encrypted') return { ...base, encryption: {} };
  if (config === 'nocoord') return { ...base, coordinator: false };
  if (config === 'notranscript') return { ...base, transcript: false };
  // 'fakestore' (diagnostic): 'default' over a memory store whose append answers at once with
  // copies: what the outbox's own JavaScript costs a burst, without IndexedDB.
  if (config === 'fakestore') {
    const store = current.memoryStore();
    let seq = 0;
    store.append = async (batch) => batch.map((e) => ({ ...e, seq: ++seq }));
    return { ...base, store };
  }
  if (config === 'follower')
    return { ...base, coordinator: followerCoordinator(), transcript: false };
  return base;
}

let registration;
async function swRegistration() {
  if (registration === undefined) {
    await navigator.serviceWorker.register('/sw.js');
    registration = await navigator.serviceWorker.ready;
  }
  return registration;
}

const sessions = new Map();

const SETTLE_MS = 100;
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

/**
 * Opens one contender for a sequential-enqueue run: returns `one(i)` (one durable write, awaited
 * by the caller) and `end()`. Contenders are opened side by side and driven in alternating chunks.
 */
async function openContender(kind) {
  const name = freshName(kind);
  if (isRaw(kind)) {
    const { indexes, write } = rawLayout(kind);
    const db = await openRaw(name, indexes);
    const rec =
      indexes === 3
        ? (i) => {
            const r = record(i);
            r.ids = [r.id];
            return r;
          }
        : record;
    return {
      one(i) {
        const tx = db.transaction('s', 'readwrite');
        tx.objectStore('s')[write](rec(i));
        return txDone(tx);
      },
      many(i, n) {
        const tx = db.transaction('s', 'readwrite');
        const s = tx.objectStore('s');
        for (let k = 0; k < n; k++) s[write](record(i + k));
        return txDone(tx);
      },
      async end() {
        db.close();
        await deleteDb(name);
      },
    };
  }
  if (kind === 'store') {
    // Diagnostic: the library's IndexedDB store alone, one append([entry]) per message.
    const store = indexedDbStore({ name });
    await store.open();
    return {
      one(i) {
        const { seq: _seq, queueConversationId: _q, ...entry } = record(i);
        return store.append([entry]);
      },
      many(i, n) {
        const entries = [];
        for (let k = 0; k < n; k++) {
          const { seq: _seq, queueConversationId: _q, ...entry } = record(i + k);
          entries.push(entry);
        }
        return store.append(entries);
      },
      async end() {
        await store.close();
        await deleteDb(name);
      },
    };
  }
  if (kind === 'workbox') {
    // Workbox is built for a service worker; `self.registration` is the page's real one, so every
    // push also registers a Background Sync tag exactly as it would in the worker.
    globalThis.registration = await swRegistration();
    const queue = new Queue(name, { onSync: async () => {} });
    const url = `${location.origin}/api/messages`;
    return {
      one(i) {
        return queue.pushRequest({
          request: new Request(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ conversationId: 'default', text: TEXT, externalId: String(i) }),
          }),
        });
      },
      // Workbox keeps its connection open (no close API): empty its store instead of deleting it.
      end: clearWorkbox,
    };
  }
  // 'outbox-default' | 'outbox-lean' | 'outbox-follower' | 'outbox-encrypted'
  const outbox = await createOutbox(outboxOptions(kind.slice(7), name));
  return {
    one: (_i, text = TEXT) => outbox.send({ text }),
    many(_i, n) {
      const all = [];
      for (let k = 0; k < n; k++) all.push(outbox.send({ text: TEXT }));
      return Promise.all(all);
    },
    async end() {
      await outbox.close();
      await deleteDb(name);
    },
  };
}

window.bench = {
  async begin(kind) {
    const id = uniq++;
    sessions.set(id, { c: await openContender(kind), i: 0 });
    return id;
  },
  /**
   * `count` sequential awaited writes; returns the chunk's wall time and each write's latency.
   * `texts: 'chat'` (outbox contenders): write `i` sends `CHAT_TEXTS[i % length]` instead of TEXT.
   */
  async chunk(id, count, texts) {
    const s = sessions.get(id);
    const lat = new Array(count);
    const list = texts === 'chat' ? CHAT_TEXTS : undefined;
    const t0 = performance.now();
    for (let k = 0; k < count; k++) {
      const text = list?.[s.i % list.length];
      const t = performance.now();
      await s.c.one(s.i++, text);
      lat[k] = performance.now() - t;
    }
    return { totalMs: performance.now() - t0, lat };
  },
  /** `count` writes issued at once (raw: one transaction; store: one append; outbox: sends). */
  async burst(id, count) {
    const s = sessions.get(id);
    const t0 = performance.now();
    await s.c.many(s.i, count);
    s.i += count;
    return { totalMs: performance.now() - t0 };
  },
  async end(id) {
    await sessions.get(id).c.end();
    sessions.delete(id);
  },

  /**
   * Batched: n calls issued at once, then all awaited (outbox: group commit; raw: one tx). Every
   * contender waits the same `SETTLE_MS` between opening and the burst (the previous round's
   * database deletion, the outbox's own start: drain chunk, lock, first heads() read), so that
   * the burst is timed alone.
   */
  async batched(kind, n, profile = false) {
    const name = freshName(kind);
    const { createOutbox, indexedDbStore } = kind.startsWith('before-') ? before : current;
    kind = kind.replace(/^before-/, '');
    // bench/profile-enqueue.mjs (PROFILE_MODE=batched): the CDP profiler records from the first
    // `performance.now()` of the timed burst to the last (console.profile / profileEnd).
    const now = profile
      ? (() => {
          let on = false;
          return () => {
            on = !on;
            if (on) console.profile('batched');
            else console.profileEnd('batched');
            return performance.now();
          };
        })()
      : () => performance.now();
    try {
      if (kind === 'raw-packed' || kind === 'raw-packed-ids') {
        // Diagnostic: the same records, 64 to a record (one request per pack of 64), with no JS of
        // the library: the backend and clone cost of schema v7's packs. '-ids': with a multiEntry
        // index on the members' ids (v7's is also unique).
        const db = await new Promise((resolve, reject) => {
          const r = indexedDB.open(name, 1);
          r.onupgradeneeded = () => {
            const st = r.result.createObjectStore('s', { keyPath: 'id' });
            if (kind === 'raw-packed-ids') st.createIndex('ids', 'ids', { multiEntry: true });
          };
          r.onsuccess = () => resolve(r.result);
          r.onerror = () => reject(r.error);
        });
        await settle();
        const t0 = now();
        const tx = db.transaction('s', 'readwrite');
        const s = tx.objectStore('s');
        for (let i = 0; i < n; i += 64) {
          const members = [];
          for (let k = i; k < Math.min(n, i + 64); k++) members.push(record(k));
          s.put({ id: members[0].id, ids: members.map((m) => m.id), members });
        }
        const issueMs = performance.now() - t0;
        await txDone(tx);
        const totalMs = now() - t0;
        db.close();
        return { totalMs, issueMs };
      }
      if (kind === 'raw-commit') {
        // Diagnostic: 'raw' with an explicit commit() once the puts are issued (as the store does).
        const db = await openRaw(name, 0);
        await settle();
        const t0 = now();
        const tx = db.transaction('s', 'readwrite');
        const s = tx.objectStore('s');
        for (let i = 0; i < n; i++) s.put(record(i));
        tx.commit();
        const issueMs = performance.now() - t0;
        await txDone(tx);
        const totalMs = now() - t0;
        db.close();
        return { totalMs, issueMs };
      }
      if (kind.startsWith('raw-v6')) {
        // '-nometa': no mark read or write (entries only); '-norest': holders without `rest`;
        // '-noindex': every record bare (no index entry at all); '-joined': `rest` as one string.
        // Diagnostic: the store's schema (opened by the store, then closed) written raw, exactly
        // as an append of one conversation's burst writes it (runs of 64: the first with
        // queueConversationId and rest, the others bare; the mark read and raised), with put.
        const store = indexedDbStore({ name });
        await store.open();
        await store.close();
        const db = await new Promise((resolve, reject) => {
          const r = indexedDB.open(name);
          r.onsuccess = () => resolve(r.result);
          r.onerror = () => reject(r.error);
        });
        await settle();
        const t0 = now();
        const noMeta = kind.includes('-nometa');
        const tx = db.transaction(noMeta ? ['entries'] : ['entries', 'meta'], 'readwrite');
        const meta = noMeta ? undefined : tx.objectStore('meta');
        const mark = meta?.get(['top']);
        const s = tx.objectStore('entries');
        const recs = [];
        for (let i = 0; i < n; i++) {
          const { queueConversationId: _q, ...r } = record(i);
          r.order = r.createdAt * 1000 + i;
          recs.push(r);
        }
        for (let i = 0; i < n; i += 64) {
          const run = recs.slice(i, i + 64);
          if (kind.includes('-noindex')) s.put(run[0]);
          else if (kind.includes('-norest')) s.put({ ...run[0], queueConversationId: 'default' });
          else if (kind.includes('-joined'))
            s.put({
              ...run[0],
              queueConversationId: 'default',
              rest: JSON.stringify(run.slice(1).map((r) => r.id)),
            });
          else
            s.put({
              ...run[0],
              queueConversationId: 'default',
              rest: run.slice(1).map((r) => r.id),
            });
          for (let k = 1; k < run.length; k++) s.put(run[k]);
        }
        const issueMs = performance.now() - t0;
        if (mark) {
          await new Promise((resolve) => (mark.onsuccess = resolve));
          meta.put(n, ['top']);
        }
        tx.commit();
        await txDone(tx);
        const totalMs = now() - t0;
        db.close();
        return { totalMs, issueMs };
      }
      if (isRaw(kind)) {
        const { indexes, write } = rawLayout(kind);
        const db = await openRaw(name, indexes);
        await settle();
        const t0 = now();
        const tx = db.transaction('s', 'readwrite');
        const s = tx.objectStore('s');
        for (let i = 0; i < n; i++) s[write](record(i));
        const issueMs = performance.now() - t0;
        await txDone(tx);
        const totalMs = now() - t0;
        db.close();
        return { totalMs, issueMs };
      }
      if (kind === 'store' || kind === 'store-put') {
        // 'store-put': the ids flagged as generated (what send() passes): put instead of add.
        const store = indexedDbStore({ name });
        await store.open();
        await settle();
        const entries = [];
        const t0 = now();
        for (let i = 0; i < n; i++) {
          const { seq: _seq, queueConversationId: _q, ...entry } = record(i);
          entries.push(entry);
        }
        const appended = store.append(entries, { generatedIds: kind === 'store-put' });
        const issueMs = performance.now() - t0;
        await appended;
        const totalMs = now() - t0;
        await store.close();
        return { totalMs, issueMs };
      }
      const outbox = await createOutbox(outboxOptions(kind.slice(7), name));
      await settle();
      const t0 = now();
      const all = [];
      for (let i = 0; i < n; i++) all.push(outbox.send({ text: TEXT }));
      let issueMs = 0;
      queueMicrotask(() => (issueMs = performance.now() - t0)); // after the group commit's issue
      await Promise.all(all);
      const totalMs = now() - t0;
      await outbox.close();
      return { totalMs, issueMs };
    } finally {
      await deleteDb(name);
    }
  },

  /** Writes `n` pending entries straight into the store (append in batches), over `conversations`. */
  async seed(name, n, conversations, batch = 1000) {
    await deleteDb(name);
    const store = indexedDbStore({ name });
    await store.open();
    const t0 = performance.now();
    for (let done = 0; done < n;) {
      const k = Math.min(batch, n - done);
      const entries = [];
      for (let i = 0; i < k; i++, done++) {
        entries.push({
          id: crypto.randomUUID(),
          conversationId: `conv-${done % conversations}`,
          text: TEXT,
          status: 'pending',
          attempts: 0,
          createdAt: Date.now(),
        });
      }
      await store.append(entries);
    }
    const ms = performance.now() - t0;
    const count = await store.count();
    await store.close();
    return { ms, count };
  },

  /**
   * createOutbox() on a seeded database (default configuration), until the transport is handed
   * its first entry. The outbox stays open (attempt in flight) so the caller can read the heap.
   */
  async recover(name) {
    const t0 = performance.now();
    let first;
    const got = new Promise((resolve) => (first = resolve));
    const outbox = await createOutbox({
      transport: neverTransport(() => first(performance.now() - t0)),
      name,
    });
    const createMs = performance.now() - t0;
    const firstMs = await got;
    window.openOutbox = outbox;
    return { createMs, firstMs };
  },

  /**
   * Diagnostic for recovery: the physical cost of finding the heads on this database. 'raw': a
   * plain connection and one fresh cursor per conversation over the outbox's `heads` index
   * (a seek past the previous conversation), exactly like the store does; 'store': the library's
   * `store.heads()`. Both open the database first (fresh page).
   */
  async probeHeads(name, kind) {
    const t0 = performance.now();
    if (kind === 'store') {
      const store = indexedDbStore({ name });
      await store.open();
      const heads = await store.heads();
      const ms = performance.now() - t0;
      await store.close();
      return { ms, heads: heads.length };
    }
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open(name);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const openMs = performance.now() - t0;
    const heads = await new Promise((resolve, reject) => {
      const found = [];
      const index = db.transaction('entries').objectStore('entries').index('heads');
      const seek = (range) => {
        const req = index.openCursor(range);
        req.onsuccess = () => {
          const c = req.result;
          if (!c) return resolve(found);
          found.push(c.value);
          seek(IDBKeyRange.lowerBound([c.key[0], []], true));
        };
        req.onerror = () => reject(req.error);
      };
      seek(null);
    });
    const ms = performance.now() - t0;
    db.close();
    return { ms, openMs, heads: heads.length };
  },

  async closeOpen() {
    await window.openOutbox?.close();
    window.openOutbox = undefined;
  },

  deleteDb,

  /**
   * Idle cost in the page: wraps the page's timer globals (setTimeout, setInterval,
   * requestAnimationFrame) to count timers armed and callbacks fired, then starts either an empty
   * outbox in its default configuration or the tutorial's 5-second polling loop.
   */
  async idleStart(which) {
    const counts = { armed: 0, fired: 0 };
    const wrap = (orig) =>
      function (callback, ...rest) {
        counts.armed++;
        const cb =
          typeof callback === 'function'
            ? function (...a) {
                counts.fired++;
                return callback.apply(this, a);
              }
            : callback;
        return orig.call(globalThis, cb, ...rest);
      };
    globalThis.setTimeout = wrap(globalThis.setTimeout);
    globalThis.setInterval = wrap(globalThis.setInterval);
    globalThis.requestAnimationFrame = wrap(globalThis.requestAnimationFrame);
    const name = freshName('idle');
    if (which === 'outbox') {
      window.idleOutbox = await createOutbox({ transport: neverTransport(), name });
      counts.armed = 0; // from the moment it is running
      counts.fired = 0;
    } else {
      window.idleTutorial = startTutorialPolling(name); // its interval: armed once, counted
    }
    window.idleCounts = counts;
    window.idleStarted = performance.now();
  },
  idleStop() {
    return { ...window.idleCounts, ms: performance.now() - window.idleStarted };
  },
};

/**
 * The tutorial's scheduler, re-implemented minimally and faithfully: `setInterval(processQueue,
 * 5000)` where processQueue opens a readonly transaction and `getAll()`s the queue (empty here).
 */
function startTutorialPolling(name) {
  let db;
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => open.result.createObjectStore('messages', { keyPath: 'id' });
  open.onsuccess = () => (db = open.result);
  return setInterval(() => {
    if (!db) return;
    const req = db.transaction('messages', 'readonly').objectStore('messages').getAll();
    req.onsuccess = () => {
      for (const msg of req.result) void msg; // nothing is ever due: the queue is empty
    };
  }, 5000);
}
