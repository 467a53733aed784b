import type { OutboxError, OutboxErrorCode } from '../errors/OutboxError.js';
import type { NewEntry, StoredEntry } from '../outbox/entry.js';
import type { OutboxStore, TranscriptRecord } from './OutboxStore.js';
import { sealingKeys, type SealingKey } from './aesGcm.js';

/** The `encryption` option of `createOutbox`. */
export interface EncryptionOptions {
  /**
   * An AES-GCM `CryptoKey` (usages `encrypt` and `decrypt`). Required in Node (keep it in your
   * secret store). @default in a browser: a non-extractable key generated once and kept in the
   * outbox's own database
   */
  key?: CryptoKey;
  /**
   * Keys used before `key` (key rotation): records sealed with one of them are still read, and
   * re-sealed with `key` when the outbox opens. Drop a key from this list once an outbox has
   * opened with it here. @default []
   */
  previousKeys?: CryptoKey[];
}

/** Options of {@link encryptedStore}. */
export interface EncryptedStoreOptions extends EncryptionOptions {
  /** Without `key`: generate one and keep it in the wrapped store (browsers). @default false */
  generateKey?: boolean;
  /** Conversations whose transcript lines are encrypted when the store is first opened. */
  conversations?: readonly string[];
  /** Told about every record that could not be decrypted (moved aside, never sent). */
  onCorrupt?: (info: { key: unknown; reason: string }) => void;
}

/**
 * The OutboxError class, passed in by the caller: this module is a lazy chunk of the browser
 * bundle, and importing the class here would make esbuild split it into a shared chunk of the
 * first load (+190 B gzip).
 */
export type ErrorClass = new (
  code: OutboxErrorCode,
  message: string,
  options?: { cause?: unknown },
) => OutboxError;

/** Marks a sealed string: `PREFIX` + base64(iv ‖ AES-GCM ciphertext ‖ tag). */
const PREFIX = '\u0001gwo1:';
/** Meta: `{ migrated }` once encryption was turned on for this store (plaintext is then suspect). */
export const ENCRYPTION_META = 'encryption';
/** Meta: the generated key (a non-extractable CryptoKey, structured-cloned by IndexedDB). */
export const KEY_META = 'encryption.key';
/** Meta: records that could not be decrypted, `{ key, kind, reason, value, at }[]`. */
export const QUARANTINE_META = 'encryption.quarantine';
const OWN_META = new Set([ENCRYPTION_META, KEY_META, QUARANTINE_META]);
const CACHE_SIZE = 1000;
/** Transcript lines per step of the background sweep (one read and one write transaction). */
const SWEEP_BATCH = 200;

/**
 * The `encryption` meta value. `migrated`: entries (and the named conversations) were sealed at
 * open, plaintext entries are now refused. `swept`: the background sweep sealed every transcript
 * line and meta value. `after`: the last transcript key the unfinished sweep got to.
 */
/** One record moved aside (meta key `encryption.quarantine`); `value` sealed at rest. */
interface Quarantined {
  key: unknown;
  kind?: string;
  reason?: string;
  value?: unknown;
  at?: number;
}

interface EncryptionState {
  migrated?: boolean;
  swept?: boolean;
  after?: string | undefined;
}

const isSealed = (v: unknown): v is string => typeof v === 'string' && v.startsWith(PREFIX);

function checkKey(E: ErrorClass, key: unknown, name: string): CryptoKey {
  const k = key as CryptoKey | null | undefined;
  if (
    typeof k !== 'object' ||
    k === null ||
    k.algorithm?.name !== 'AES-GCM' ||
    !k.usages?.includes('encrypt') ||
    !k.usages.includes('decrypt')
  ) {
    throw new E('invalid-options', `${name}: an AES-GCM CryptoKey (encrypt, decrypt)`);
  }
  return k;
}

/** Why a record could not be opened; never contains the record's content. */
class Unreadable extends Error {}

/** `store.setMetaIfAbsent`, or where a store has none, a read then a write (not atomic). */
async function metaIfAbsent(store: OutboxStore, key: string, value: unknown) {
  if (store.setMetaIfAbsent !== undefined) return store.setMetaIfAbsent(key, value);
  const kept = await store.getMeta(key);
  if (kept !== undefined || value === undefined) return kept;
  await store.setMeta(key, value);
  return value;
}

/**
 * Wraps any {@link OutboxStore} so that what a visitor wrote is AES-GCM encrypted before it
 * reaches the store: an entry's `text` and `metadata` (sealed together into `text`, so the
 * stored entry has no `metadata`), a transcript line's `text`, and every `setMeta` value (the
 * guest session token). Ids, conversation ids, order keys, statuses, attempts and times stay
 * clear so the store can still index them. Each sealed value is bound to its record (id and
 * conversation as additional data): a value copied into another record does not decrypt.
 *
 * A record that does not decrypt (wrong key, tampered, or plaintext in a store that was already
 * encrypted) is never handed out: an entry is moved aside (the wrapped store's meta key
 * `encryption.quarantine`, removed from the queue) and reported through `onCorrupt`, so it is
 * never sent and never blocks its conversation; a transcript line is skipped and reported.
 *
 * Opening a store that held plaintext encrypts it in place (entries, the transcript of the
 * conversations named in `conversations` and of every conversation with an entry; other lines
 * and meta values as they are read). With `previousKeys`, what was sealed with an older key is
 * re-sealed with `key` at open.
 *
 * @example
 * const key = await crypto.subtle.importKey('raw', secret32Bytes, 'AES-GCM', false, ['encrypt', 'decrypt']);
 * const store = encryptedStore(sqliteStore({ path }), { key });
 */
export function encryptedStoreWith(
  E: ErrorClass,
  inner: OutboxStore,
  options: EncryptedStoreOptions,
  /** Tests: seal with WebCrypto even where node:crypto is available. */
  prefer?: 'webcrypto',
): OutboxStore {
  if (typeof options !== 'object' || options === null) {
    throw new E('invalid-options', 'encryption: options object required');
  }
  const previous = (options.previousKeys ?? []).map((k, i) => checkKey(E, k, `previousKeys[${i}]`));
  let key: CryptoKey | undefined =
    options.key === undefined ? undefined : checkKey(E, options.key, 'encryption.key');
  if (key === undefined && options.generateKey !== true) {
    throw new E(
      'encryption-key-required',
      'encryption.key required here (generated keys only in browsers)',
    );
  }
  const subtle = (): SubtleCrypto => {
    const sc = globalThis.crypto?.subtle;
    if (sc === undefined) throw new E('insecure-context', 'encryption needs WebCrypto (HTTPS)');
    return sc;
  };
  subtle();
  /** `key` (first) and `previous`, each with its backend (set at open). */
  let keys: SealingKey[] = [];
  /** Plaintext is accepted only until the store was migrated (then it can only be planted). */
  let migrated = false;
  /** entry id → [payload, sealed]: an update of unchanged text reuses the ciphertext. */
  const cache = new Map<string, [string, string]>();
  let quarantining: Promise<unknown> = Promise.resolve();
  /** Unreadable lines and meta values are reported once each, not on every read. */
  const reported = new Set<string>();

  /** Resolves once the previous append/update has been issued to the wrapped store. */
  let turn: Promise<unknown> = Promise.resolve();
  /** Appends/updates whose sealing is still under way (WebCrypto), not yet issued. */
  let waiting = 0;
  /**
   * Calls the wrapped store in the order of the calls made here, although sealing may be async: a
   * store takes order keys when an append (or a requeue) is called, so an entry sealed faster
   * must not overtake one sent before it. Sealed at once (node:crypto) with nothing waiting, the
   * call goes straight through.
   */
  function inOrder<T, R>(sealing: T | Promise<T>, call: (sealed: T) => Promise<R>): Promise<R> {
    if (!(sealing instanceof Promise) && waiting === 0) return call(sealing);
    waiting++;
    const prev = turn;
    const issued = Promise.resolve(sealing).then(
      async (sealed) => {
        await prev;
        waiting--;
        return { p: call(sealed) }; // boxed: resolves when issued, not when settled
      },
      async (error: unknown) => {
        await prev;
        waiting--;
        throw error;
      },
    );
    turn = issued.then(
      () => undefined,
      () => undefined,
    );
    return issued.then((x) => x.p);
  }

  const remember = (id: string, payload: string, sealed: string): void => {
    cache.delete(id);
    cache.set(id, [payload, sealed]);
    if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  };

  let loading: Promise<void> | undefined;
  /** The backends of the keys (once: at open, or at the first use of a store used unopened). */
  const loadKeys = (): Promise<void> => {
    if (key === undefined) return Promise.reject(new E('closed', 'encryption: store not opened'));
    const all = [key, ...previous];
    loading ??= sealingKeys(all, subtle, prefer).then((k) => {
      keys = k;
    });
    return loading;
  };

  /** `PREFIX` + base64(iv ‖ ciphertext ‖ tag), at once with node:crypto. */
  function seal(aad: string, plain: string): string | Promise<string> {
    const k = keys[0];
    if (k === undefined) return loadKeys().then(() => seal(aad, plain));
    const sealed = k.seal(aad, plain);
    return typeof sealed === 'string' ? PREFIX + sealed : sealed.then((b) => PREFIX + b);
  }

  /** The plaintext, and whether it was sealed with an older key (then re-seal it). */
  async function unseal(aad: string, sealed: string): Promise<[string, boolean]> {
    if (keys.length === 0) await loadKeys();
    const body = sealed.slice(PREFIX.length);
    for (let i = 0; i < keys.length; i++) {
      const plain = await (keys[i] as SealingKey).open(aad, body);
      if (plain !== undefined) return [plain, i > 0];
    }
    throw new Unreadable('does not decrypt with the key (wrong key or tampered)');
  }

  const entryAad = (e: { id: string; conversationId: string }): string =>
    `e\u0000${e.id}\u0000${e.conversationId}`;
  const lineAad = (r: TranscriptRecord): string => `t\u0000${r.key}\u0000${r.conversationId}`;
  const metaAad = (k: string): string => `m\u0000${k}`;
  const quarantineAad = (k: unknown): string => `q\u0000${String(k)}`;

  /**
   * The entry as the wrapped store gets it. `keep`: remember its ciphertext for a later update of
   * unchanged text (updates do; an append does not: the outbox reads an entry back through
   * `heads`/`headOf`/`get` before it updates it, and that read fills the cache, so priming it at
   * append only kept ~500 bytes per send alive for the garbage collector to copy).
   */
  function sealEntry<T extends NewEntry>(e: T, keep = true): T | Promise<T> {
    const payload = JSON.stringify(e.metadata === undefined ? [e.text] : [e.text, e.metadata]);
    const hit = keep ? cache.get(e.id) : undefined;
    if (hit !== undefined && hit[0] === payload) return sealedEntry(e, payload, hit[1], true);
    const sealed = seal(entryAad(e), payload);
    return typeof sealed === 'string'
      ? sealedEntry(e, payload, sealed, keep)
      : sealed.then((s) => sealedEntry(e, payload, s, keep));
  }

  /** What the wrapped store gets: `text` sealed (with the metadata), no `metadata`. */
  function sealedEntry<T extends NewEntry>(
    e: T,
    payload: string,
    sealed: string,
    keep: boolean,
  ): T {
    if (keep) remember(e.id, payload, sealed);
    if (e.metadata === undefined) return { ...e, text: sealed };
    const { metadata: _, ...rest } = e;
    rest.text = sealed;
    return rest as T;
  }

  /** Seals every entry of an append: synchronously when every seal was. */
  function sealEntries<T extends NewEntry>(entries: readonly T[]): T[] | Promise<T[]> {
    if (entries.length === 1) {
      const one = sealEntry(entries[0] as T, false);
      return one instanceof Promise ? one.then((x) => [x]) : [one];
    }
    const sealed = entries.map((e) => sealEntry(e, false));
    return sealed.some((x) => x instanceof Promise) ? Promise.all(sealed) : (sealed as T[]);
  }

  /** The entry in clear; `stale`: it is not sealed with the current key. */
  async function openEntry(e: StoredEntry): Promise<{ entry: StoredEntry; stale: boolean }> {
    if (!isSealed(e.text)) {
      if (migrated) throw new Unreadable('plaintext in an encrypted store');
      return { entry: e, stale: true };
    }
    const [payload, old] = await unseal(entryAad(e), e.text);
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      throw new Unreadable('not an entry payload');
    }
    const [text, metadata] = Array.isArray(parsed) ? (parsed as unknown[]) : [];
    if (typeof text !== 'string') throw new Unreadable('not an entry payload');
    const entry: StoredEntry = { ...e, text };
    if (metadata !== undefined) entry.metadata = metadata as Record<string, string>;
    if (!old) remember(e.id, payload, e.text);
    return { entry, stale: old };
  }

  /**
   * A quarantined record as stored: its `value` (the record as it was read, which may be planted
   * plaintext) sealed with the current key, so nothing readable is kept at rest. Read through the
   * wrapper, `getMeta(QUARANTINE_META)` opens it again.
   */
  async function sealQuarantined(q: Quarantined): Promise<Quarantined> {
    if (typeof q !== 'object' || q === null || isSealed(q.value)) return q;
    return { ...q, value: await seal(quarantineAad(q.key), JSON.stringify(q.value ?? null)) };
  }

  async function openQuarantined(q: Quarantined): Promise<Quarantined> {
    if (typeof q !== 'object' || q === null || !isSealed(q.value)) return q;
    try {
      return { ...q, value: JSON.parse((await unseal(quarantineAad(q.key), q.value))[0]) };
    } catch (err: unknown) {
      if (!(err instanceof Unreadable) && !(err instanceof SyntaxError)) throw err;
      return q; // sealed with a key no longer given: left as it is
    }
  }

  /**
   * At open, the quarantine: values kept in clear (by an older version) are sealed, values
   * sealed with a previous key re-sealed with the current one (one meta read when there is none).
   */
  function resealQuarantine(): Promise<unknown> {
    const run = async (): Promise<void> => {
      const list = await inner.getMeta(QUARANTINE_META);
      if (!Array.isArray(list)) return;
      let changed = false;
      const next = await Promise.all(
        (list as Quarantined[]).map(async (q) => {
          const open = previous.length > 0 ? await openQuarantined(q) : q;
          const sealed = await sealQuarantined(open);
          if (sealed !== q) changed = true;
          return sealed;
        }),
      );
      if (changed) await inner.setMeta(QUARANTINE_META, next);
    };
    quarantining = quarantining.then(run, run);
    return quarantining;
  }

  /** Moves unreadable entries aside (meta, then out of the queue) and reports them. */
  function quarantine(bad: { entry: StoredEntry; reason: string }[]): Promise<unknown> {
    if (bad.length === 0) return Promise.resolve();
    const run = async (): Promise<void> => {
      const list = await inner.getMeta(QUARANTINE_META);
      // Records moved aside by an older version kept their value in clear: sealed now too.
      const kept = await Promise.all(
        (Array.isArray(list) ? (list as Quarantined[]) : []).map(sealQuarantined),
      );
      const at = Date.now();
      const added = await Promise.all(
        bad.map((b) =>
          sealQuarantined({ key: b.entry.id, kind: 'entry', reason: b.reason, value: b.entry, at }),
        ),
      );
      await inner.setMeta(QUARANTINE_META, [...kept, ...added]);
      for (const b of bad) {
        cache.delete(b.entry.id);
        await inner.remove(b.entry.id);
      }
      for (const b of bad) report(b.entry.id, b.reason);
    };
    quarantining = quarantining.then(run, run);
    return quarantining;
  }

  function report(k: unknown, reason: string): void {
    try {
      options.onCorrupt?.({ key: k, reason });
    } catch {
      // a throwing callback must not break the store
    }
  }

  /** Opens entries; quarantines the unreadable ones; re-seals stale ones when asked. */
  async function openEntries(
    entries: StoredEntry[],
    reseal = false,
  ): Promise<{ good: StoredEntry[]; bad: number }> {
    const bad: { entry: StoredEntry; reason: string }[] = [];
    const good: StoredEntry[] = [];
    await Promise.all(
      entries.map(async (e, i) => {
        try {
          const { entry, stale } = await openEntry(e);
          good[i] = entry;
          if (stale && reseal) await inner.update(await sealEntry(entry));
        } catch (err: unknown) {
          if (!(err instanceof Unreadable)) throw err;
          bad.push({ entry: e, reason: err.message });
        }
      }),
    );
    await quarantine(bad);
    return { good: good.filter((e) => e !== undefined), bad: bad.length };
  }

  async function sealLine(r: TranscriptRecord): Promise<TranscriptRecord> {
    return { ...r, text: await seal(lineAad(r), r.text) };
  }

  /** Lines in clear; unreadable ones are skipped and reported; stale ones re-sealed. */
  async function openLines(
    records: (TranscriptRecord | undefined)[],
  ): Promise<(TranscriptRecord | undefined)[]> {
    const stale: TranscriptRecord[] = [];
    const out = await Promise.all(
      records.map(async (r) => {
        if (r === undefined) return undefined;
        if (!isSealed(r.text)) {
          // Lines of conversations the migration did not reach are sealed as they are read.
          stale.push(r);
          return r;
        }
        try {
          const [text, old] = await unseal(lineAad(r), r.text);
          const line = { ...r, text };
          if (old) stale.push(line);
          return line;
        } catch (err: unknown) {
          if (!(err instanceof Unreadable)) throw err;
          if (!reported.has(`t:${r.key}`)) report(r.key, err.message);
          reported.add(`t:${r.key}`);
          return undefined;
        }
      }),
    );
    if (stale.length > 0) {
      const sealed = await Promise.all(stale.map(sealLine));
      const replace = (await inner.sweep?.())?.replaceTranscriptText;
      // Only where the line still holds what was read: one written meanwhile is newer.
      if (replace === undefined) await inner.putTranscript(sealed);
      else {
        const read = new Map(records.map((r) => [r?.key, r?.text]));
        await replace(
          sealed.map((r) => ({ key: r.key, from: read.get(r.key) as string, to: r.text })),
        );
      }
    }
    return out;
  }

  let state: EncryptionState = {};
  const saveState = async (patch: EncryptionState): Promise<void> => {
    const next: EncryptionState = { ...state, ...patch };
    if (next.after === undefined) delete next.after;
    await inner.setMeta(ENCRYPTION_META, next);
    state = next;
  };

  /** At open: the entries and the named conversations' lines (what the outbox reads first). */
  async function migrate(): Promise<void> {
    const kept = (await inner.getMeta(ENCRYPTION_META)) as EncryptionState | undefined;
    state = typeof kept === 'object' && kept !== null ? { ...kept } : {};
    migrated = state.migrated === true;
    if (migrated && previous.length === 0) return;
    // Announced before anything is sealed: an outbox opened without the key refuses this store.
    if (kept === undefined) await saveState({ migrated: false });
    const entries = await inner.list();
    await openEntries(entries, true);
    const conversations = new Set([
      ...(options.conversations ?? []),
      ...entries.map((e) => e.conversationId),
    ]);
    for (const c of conversations) await openLines(await inner.listTranscript(c));
    await saveState({ migrated: true });
    migrated = true;
  }

  /** Set by close() and wipe(): the sweep stops after its current step. */
  let stopping = false;
  let sweeping: Promise<void> = Promise.resolve();
  /** Ends the sweep's wait between two steps. */
  let pause: (() => void) | undefined;

  /**
   * In the background after open, in steps of SWEEP_BATCH lines: seals every plaintext transcript
   * line of every conversation (and re-seals lines of older keys while `previousKeys` are given),
   * then every meta value, then lets the store compact itself so the plaintext does not linger in
   * free pages. The key of the last line done is stored after each step, so a sweep cut short
   * (crash, close) resumes there at the next open. A line is replaced only where it still holds
   * what was read (`replaceTranscriptText`): a line written meanwhile keeps its newer text.
   * Stores without `sweep()` (your own) keep sealing lines as they are read.
   */
  async function sweep(): Promise<void> {
    const plaintextPass = state.swept !== true;
    if (!plaintextPass && previous.length === 0) return;
    const access = await inner.sweep?.();
    const scan = access?.scanTranscript;
    const replace = access?.replaceTranscriptText;
    if (scan !== undefined && replace !== undefined) {
      let after = plaintextPass ? state.after : undefined;
      for (;;) {
        if (stopping) return;
        const batch = await scan(after, SWEEP_BATCH);
        const changes: { key: string; from: string; to: string }[] = [];
        for (const r of batch) {
          let plain: string | undefined;
          if (!isSealed(r.text)) plain = r.text;
          else if (previous.length > 0) {
            try {
              const [text, old] = await unseal(lineAad(r), r.text);
              if (old) plain = text;
            } catch (err: unknown) {
              if (!(err instanceof Unreadable)) throw err; // reported when it is read
            }
          }
          if (plain !== undefined) {
            changes.push({ key: r.key, from: r.text, to: await seal(lineAad(r), plain) });
          }
        }
        if (stopping) return;
        if (changes.length > 0) await replace(changes);
        const last = batch[batch.length - 1];
        if (last === undefined) break;
        after = last.key;
        if (plaintextPass) await saveState({ after });
        if (batch.length < SWEEP_BATCH) break;
        // A macrotask between steps: a store whose calls settle at once (SQLite) would otherwise
        // keep the event loop to itself until the sweep ends. close() cuts the wait short.
        await new Promise<void>((resolve) => {
          pause = resolve;
          setTimeout(resolve, 0);
        });
      }
    }
    if (access !== undefined) {
      for (const k of await access.metaKeys()) {
        if (stopping) return;
        if (!OWN_META.has(k)) await store.getMeta(k); // seals plaintext, re-seals older keys
      }
    }
    if (stopping || !plaintextPass || scan === undefined || replace === undefined) return;
    // The store's own quarantine (entries it could not read, kept as read): from before
    // encryption, plaintext. Sealed before the compaction, so the old values go with it.
    await access?.sealQuarantine?.((n, value) =>
      isSealed(value) ? undefined : seal(`Q\u0000${n}`, value),
    );
    if (stopping) return;
    await access?.compact?.();
    await saveState({ swept: true, after: undefined });
  }

  /** Stops the sweep after its current step. */
  async function stopSweep(): Promise<void> {
    stopping = true;
    pause?.();
    await sweeping;
  }

  /** Heads, read again while some were quarantined (the next entry of that conversation). */
  async function heads(limit?: number): Promise<StoredEntry[]> {
    for (;;) {
      const { good, bad } = await openEntries(await inner.heads(limit));
      if (bad === 0) return good;
    }
  }

  /** A meta value as the wrapped store holds it (`v`), opened: what getMeta answers for `k`. */
  async function openMeta(k: string, v: unknown): Promise<unknown> {
    if (k === QUARANTINE_META && Array.isArray(v)) {
      return Promise.all((v as Quarantined[]).map(openQuarantined));
    }
    if (OWN_META.has(k) || v === undefined) return v;
    if (!isSealed(v)) {
      await store.setMeta(k, v); // from before encryption: sealed now
      return v;
    }
    try {
      const [plain, old] = await unseal(metaAad(k), v);
      const value = JSON.parse(plain) as unknown;
      if (old) await store.setMeta(k, value);
      return value;
    } catch (err: unknown) {
      if (!(err instanceof Unreadable) && !(err instanceof SyntaxError)) throw err;
      if (!reported.has(`m:${k}`)) report(k, 'meta value does not decrypt');
      reported.add(`m:${k}`);
      return undefined;
    }
  }

  const store: OutboxStore = {
    async open() {
      await inner.open();
      if (key === undefined) {
        let kept = await inner.getMeta(KEY_META);
        if (kept === undefined) {
          // Two tabs opening a new store at once each make a key: the first one stored is kept,
          // and both seal with it (each keeping its own lost what the other tab wrote).
          const made = await subtle().generateKey({ name: 'AES-GCM', length: 256 }, false, [
            'encrypt',
            'decrypt',
          ]);
          kept = await metaIfAbsent(inner, KEY_META, made);
        }
        key = checkKey(E, kept, 'the stored key');
      }
      await loadKeys();
      await migrate();
      await resealQuarantine();
      stopping = false;
      // Not awaited: send() does not wait for it. A failure (storage closed or failing) leaves
      // the cursor where it got to; the next open resumes.
      sweeping = sweeping.then(sweep).catch(() => undefined);
    },

    append(entries, opts) {
      // Not async: with node:crypto the entries are sealed by now, and the wrapped store's promise
      // is the only one between send() and its commit.
      return inOrder(sealEntries(entries), (sealed) => inner.append(sealed, opts)).then((saved) =>
        restore(saved, entries),
      );
    },

    async update(entry, opts) {
      const saved = await inOrder(sealEntry(entry), (sealed) => inner.update(sealed, opts));
      return restore([saved], [entry])[0] as StoredEntry;
    },

    remove(id) {
      cache.delete(id);
      return inner.remove(id);
    },

    async get(id) {
      const e = await inner.get(id);
      return e === undefined ? undefined : (await openEntries([e])).good[0];
    },

    async list() {
      return (await openEntries(await inner.list())).good;
    },

    heads,

    count: () => inner.count(),

    getMeta: async (k) => openMeta(k, await inner.getMeta(k)),

    async setMetaIfAbsent(k, value) {
      if (OWN_META.has(k)) return metaIfAbsent(inner, k, value);
      const sealed =
        value === undefined ? undefined : await seal(metaAad(k), JSON.stringify(value));
      // The winner's value (another tab's, maybe), opened as getMeta opens it.
      return openMeta(k, await metaIfAbsent(inner, k, sealed));
    },

    async setMeta(k, value) {
      if (OWN_META.has(k)) return inner.setMeta(k, value);
      return inner.setMeta(
        k,
        value === undefined ? undefined : await seal(metaAad(k), JSON.stringify(value)),
      );
    },

    async putTranscript(records) {
      await inner.putTranscript(await Promise.all(records.map(sealLine)));
    },

    async listTranscript(conversationId, limit) {
      const lines = await openLines(await inner.listTranscript(conversationId, limit));
      return lines.filter((r): r is TranscriptRecord => r !== undefined);
    },

    async getTranscript(k) {
      return (await openLines([await inner.getTranscript(k)]))[0];
    },

    pruneTranscript: (conversationId, keep) => inner.pruneTranscript(conversationId, keep),

    async close() {
      await stopSweep();
      await inner.close();
    },
  };

  // Optional methods that return no records pass through (the SQLite sender lease).
  if (inner.coordinator) store.coordinator = inner.coordinator.bind(inner);
  if (inner.wipe) {
    const wipe = inner.wipe.bind(inner);
    store.wipe = async () => {
      await stopSweep();
      await wipe();
    };
  }
  if (inner.releaseClaim) store.releaseClaim = inner.releaseClaim.bind(inner);
  if (inner.watch) store.watch = inner.watch.bind(inner);
  if (inner.follow) store.follow = inner.follow.bind(inner);
  // Optional reads of the sender (the flat drain, PostgreSQL claims) open what they return; without
  // them here the outbox would fall back to heads() per pass, or to several workers sending at once.
  if (inner.headOf) {
    const headOf = inner.headOf.bind(inner);
    store.headOf = async (conversationId) => {
      for (;;) {
        const e = await headOf(conversationId);
        if (e === undefined) return undefined;
        const { good, bad } = await openEntries([e]);
        if (bad === 0) return good[0];
      }
    };
  }
  if (inner.claimTranscript) {
    const claimTranscript = inner.claimTranscript.bind(inner);
    store.claimTranscript = async (record, staleBefore) =>
      claimTranscript(await sealLine(record), staleBefore);
  }
  if (inner.claimDue) {
    const claimDue = inner.claimDue.bind(inner);
    store.claimDue = async (claim) => {
      const result = await claimDue(claim);
      // A claimed head that does not decrypt is moved aside (never sent); its conversation's next
      // entry is claimed by a later call.
      return { ...result, entries: (await openEntries(result.entries)).good };
    };
  }
  if (inner.removeDelivered) {
    const removeDelivered = inner.removeDelivered.bind(inner);
    store.removeDelivered = async (id, records) => {
      cache.delete(id);
      await removeDelivered(id, await Promise.all(records.map(sealLine)));
    };
  }
  return store;
}

/**
 * `createOutbox({ encryption })`: the wrapper with the outbox's defaults. A key is generated only
 * in a browser (a page or a worker): Node has no per-profile storage to hide one in, so the
 * operator supplies it.
 */
export function encryptOutboxStore(
  E: ErrorClass,
  store: OutboxStore,
  encryption: EncryptionOptions,
  defaultConversationId: string,
  onCorrupt: (info: { key: unknown; reason: string }) => void,
): OutboxStore {
  if (typeof encryption !== 'object' || encryption === null) {
    throw new E('invalid-options', 'options.encryption: object required');
  }
  const g = globalThis as { window?: unknown; WorkerGlobalScope?: unknown };
  return encryptedStoreWith(E, store, {
    ...encryption,
    generateKey: g.window !== undefined || g.WorkerGlobalScope !== undefined,
    conversations: [defaultConversationId],
    onCorrupt,
  });
}

/** The stored entries with the caller's text and metadata back in place of the ciphertext. */
function restore(saved: StoredEntry[], plain: readonly NewEntry[]): StoredEntry[] {
  return saved.map((s, i) => {
    const p = plain[i] as NewEntry;
    const out: StoredEntry = { ...s, text: p.text };
    if (p.metadata !== undefined) out.metadata = { ...p.metadata };
    return out;
  });
}
