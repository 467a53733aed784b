// Test harness loaded by outbox.html: exposes `window.h` for test/browser/outbox.spec.mjs to drive.
// `?lib=split`: the package built with code splitting (test/browser/global-setup.mjs), whose
// chunks the outbox fetches with import() when it starts; else the one-file browser bundle.
const lib = await import(
  new URLSearchParams(location.search).get('lib') === 'split'
    ? '/test-results/browser-pages/split/outbox.js'
    : '/dist/browser/genesys-webmessaging-outbox.js'
);

const h = {
  lib,
  outbox: undefined,
  /** Every event this tab's outbox reported (its own and other tabs'). */
  events: [],
  /**
   * Starts an outbox in this tab: `guest` (Web Messaging Guest API over WebSocket) when
   * `guest: { wsUrl, apiBaseUrl, deploymentId }` is given, else the HTTP transport to `url`.
   */
  async start({ url, token, name, guest, retry = {}, encryption }) {
    const transport = guest
      ? lib.guestTransport({
          webSocketUrl: guest.wsUrl,
          apiBaseUrl: guest.apiBaseUrl,
          deploymentId: guest.deploymentId,
          conversationId: 'c1',
          reconnect: { baseDelayMs: 100, maxDelayMs: 1000 },
          echoTimeoutMs: 5000,
        })
      : lib.httpTransport({ url, getAccessToken: () => token, timeoutMs: 5000 });
    h.outbox = await lib.createOutbox({
      name,
      transport,
      retry: { baseDelayMs: 100, maxDelayMs: 1000, ...retry },
      ...(encryption ? { encryption } : {}),
    });
    h.outbox.subscribe((event) => h.events.push(event));
  },
  /**
   * Every record of every object store of database `name`, read with plain IndexedDB calls (what
   * another program reading the profile would find), as JSON; null when the database is gone.
   */
  async rawDatabase(name) {
    const names = (await indexedDB.databases()).map((d) => d.name);
    if (!names.includes(name)) return null;
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(name);
      req.onerror = () => reject(req.error);
      req.onsuccess = () => {
        const db = req.result;
        const stores = [...db.objectStoreNames];
        const out = {};
        const tx = db.transaction(stores);
        for (const s of stores) {
          const get = tx.objectStore(s).getAll();
          get.onsuccess = () => (out[s] = get.result);
        }
        tx.oncomplete = () => {
          db.close();
          const show = (_k, v) =>
            v instanceof CryptoKey
              ? { CryptoKey: v.algorithm.name, extractable: v.extractable }
              : v;
          resolve(JSON.stringify(out, show));
        };
        tx.onerror = () => reject(tx.error);
      };
    });
  },
  /**
   * Writes plaintext into database `name` with the unencrypted IndexedDB store (what an outbox
   * without `encryption` left there): one queued entry, `lines` transcript lines of a
   * conversation nobody lists, one line of `c1`, one meta value; each text holds `marker`.
   */
  async seedPlaintext(name, marker, lines) {
    const store = lib.indexedDbStore({ name });
    await store.open();
    await store.append([
      {
        id: crypto.randomUUID(),
        conversationId: 'c1',
        text: `queued ${marker}`,
        metadata: { note: `meta ${marker}` },
        status: 'pending',
        attempts: 0,
        createdAt: Date.now(),
      },
    ]);
    const line = (key, conversationId, i) => ({
      key,
      conversationId,
      direction: 'Inbound',
      text: `line ${i} ${marker}`,
      time: Date.now() - 100_000 + i,
    });
    await store.putTranscript([line('c1-line', 'c1', 0)]);
    await store.putTranscript(
      Array.from({ length: lines }, (_, i) =>
        line(`old-${String(i).padStart(4, '0')}`, 'never-listed', i + 1),
      ),
    );
    await store.setMeta('app.note', `note ${marker}`);
    await store.close();
  },
  /** Writes records into the tutorial's database (`genesys-webmsg-queue` / `pending-messages`). */
  /**
   * Database `name` as schema `version` 5 or 6 left it (the same stores and indexes), holding
   * `entries` and `meta` ([key, value] pairs), and open in this page as the old release's tab
   * would hold it: `closedByUpgrade()` tells whether that connection stepped aside on versionchange.
   */
  async oldDatabase(name, version, entries, meta) {
    const done = (x) =>
      new Promise((resolve, reject) => {
        x.onsuccess = x.oncomplete = () => resolve(x.result);
        x.onerror = () => reject(x.error);
      });
    const open = indexedDB.open(name, version);
    open.onupgradeneeded = () => {
      const db = open.result;
      db.createObjectStore('entries', { keyPath: 'id' }).createIndex('heads', [
        'queueConversationId',
        'seq',
      ]);
      db.createObjectStore('meta');
      const transcript = db.createObjectStore('transcript', { keyPath: 'key' });
      transcript.createIndex('byOrder', ['conversationId', 'order', 'time', 'n']);
      db.createObjectStore('quarantine', { autoIncrement: true });
    };
    const oldTab = await done(open);
    let closed = false;
    oldTab.onversionchange = () => {
      closed = true;
      oldTab.close();
    };
    const tx = oldTab.transaction(['entries', 'meta'], 'readwrite');
    for (const e of entries) tx.objectStore('entries').put(e);
    for (const [k, v] of meta) tx.objectStore('meta').put(v, k);
    await done(tx);
    return { closedByUpgrade: () => closed };
  },
  seedTutorial(records) {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open('genesys-webmsg-queue', 1);
      req.onupgradeneeded = () =>
        req.result.createObjectStore('pending-messages', { keyPath: 'id' });
      req.onerror = () => reject(req.error);
      req.onsuccess = () => {
        const db = req.result;
        const tx = db.transaction('pending-messages', 'readwrite');
        for (const r of records) tx.objectStore('pending-messages').put(r);
        tx.oncomplete = () => (db.close(), resolve());
        tx.onerror = () => reject(tx.error);
      };
    });
  },
  /** What is left in the tutorial's store. */
  tutorialLeft() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open('genesys-webmsg-queue');
      req.onerror = () => reject(req.error);
      req.onsuccess = () => {
        const db = req.result;
        const get = db.transaction('pending-messages').objectStore('pending-messages').getAll();
        get.onsuccess = () => (db.close(), resolve(get.result.length));
        get.onerror = () => reject(get.error);
      };
    });
  },
  /** The tutorial-compatible facade, as a tutorial user upgrading would start it. */
  async startTutorialQueue({ apiBaseUrl, token, name }) {
    h.queue = new lib.OfflineMessageQueue({
      apiBaseUrl,
      loginBaseUrl: apiBaseUrl,
      getAccessToken: () => token,
      retry: { baseDelayMs: 100, maxDelayMs: 1000 },
      outbox: { name },
    });
    h.outbox = await h.queue.initialize();
    h.outbox.subscribe((event) => h.events.push(event));
  },
  /** Sends the texts one after the other (each committed before the next); resolves with the ids. */
  async send(texts, conversationId = 'c1') {
    const ids = [];
    for (const text of texts) {
      const entry = await h.outbox.send({ text, conversationId, metadata: { guestId: 'g1' } });
      ids.push(entry.id);
    }
    return ids;
  },
  /** Tries one send; resolves with its id or the error code. */
  async trySend(text, conversationId = 'c1') {
    try {
      const entry = await h.outbox.send({ text, conversationId, metadata: { guestId: 'g1' } });
      return { id: entry.id };
    } catch (error) {
      return { code: lib.isOutboxError(error) ? error.code : String(error) };
    }
  },
  /** Ids for which this tab saw a status event with `status`. */
  seen(status) {
    return [
      ...new Set(
        h.events
          .filter((e) => e.type === 'status' && e.entry.status === status)
          .map((e) => e.entry.id),
      ),
    ];
  },
  async list() {
    return (await h.outbox.list()).map((e) => ({ id: e.id, status: e.status }));
  },
};

window.h = h;
