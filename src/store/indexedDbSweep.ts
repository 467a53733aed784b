// The IndexedDB store's `sweep()` (a pass over every transcript line and meta value: the
// encryption wrapper's background sweep). A chunk of its own, loaded by the first call: an
// outbox without encryption never fetches it, and the first load does not carry it. Part of the IndexedDB store's private schema (`indexedDb.ts`).
import type { StoreSweep, TranscriptRecord } from './OutboxStore.js';

/** The store's transaction runner (`run` in `indexedDb.ts`). */
export type Run = <T>(
  stores: string[],
  mode: IDBTransactionMode,
  body: (tx: IDBTransaction) => T | Promise<T>,
) => Promise<T>;

/** Object store names of `indexedDb.ts`. */
const TRANSCRIPT = 'transcript';
const META = 'meta';

const req = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

/** Up to `limit` lines of every conversation in key order, keys after `after`. */
function scan(run: Run, after: string | undefined, limit: number): Promise<TranscriptRecord[]> {
  return run([TRANSCRIPT], 'readonly', async (tx) => {
    const range = after === undefined ? null : IDBKeyRange.lowerBound(after, true);
    const rows = (await req(
      tx.objectStore(TRANSCRIPT).getAll(range, Math.max(0, limit)),
    )) as (TranscriptRecord & { n?: number })[];
    return rows.map(({ n: _n, ...line }) => line);
  });
}

/** In one transaction: each line's text becomes `to` where it still is `from`. */
function replace(
  run: Run,
  changes: readonly { key: string; from: string; to: string }[],
): Promise<void> {
  if (changes.length === 0) return Promise.resolve();
  return run([TRANSCRIPT], 'readwrite', async (tx) => {
    const store = tx.objectStore(TRANSCRIPT);
    await Promise.all(
      changes.map(async (c) => {
        const row = (await req(store.get(c.key))) as TranscriptRecord | undefined;
        if (row !== undefined && row.text === c.from) store.put({ ...row, text: c.to });
      }),
    );
  });
}

/** The keys `setMeta` wrote (the store's own meta keys are arrays). */
function keys(run: Run): Promise<string[]> {
  return run([META], 'readonly', async (tx) =>
    ((await req(tx.objectStore(META).getAllKeys())) as IDBValidKey[]).filter(
      (k): k is string => typeof k === 'string',
    ),
  );
}

const QUARANTINE = 'quarantine';

/**
 * The store's own quarantine (`{ key, reason, value, at }`, `value` the record as read): each
 * `value` becomes what `seal` makes of its JSON, where it is still the same. Read in one
 * transaction, sealed outside (WebCrypto is async: a transaction would commit meanwhile), written
 * in a second one.
 */
async function sealQuarantine(
  run: Run,
  seal: (n: number, value: string) => string | undefined | Promise<string | undefined>,
): Promise<void> {
  const rows = await run([QUARANTINE], 'readonly', async (tx) => {
    const store = tx.objectStore(QUARANTINE);
    const [keys, values] = await Promise.all([req(store.getAllKeys()), req(store.getAll())]);
    return keys.map((k, i) => [k, values[i] as { value?: unknown }] as const);
  });
  const changes: [IDBValidKey, string, string][] = [];
  for (const [k, row] of rows) {
    if (typeof k !== 'number' || row.value === undefined) continue;
    const from = typeof row.value === 'string' ? row.value : JSON.stringify(row.value);
    const to = await seal(k, from);
    if (to !== undefined) changes.push([k, from, to]);
  }
  if (changes.length === 0) return;
  await run([QUARANTINE], 'readwrite', async (tx) => {
    const store = tx.objectStore(QUARANTINE);
    await Promise.all(
      changes.map(async ([k, from, to]) => {
        const row = (await req(store.get(k))) as { value?: unknown } | undefined;
        if (row === undefined) return;
        const now = typeof row.value === 'string' ? row.value : JSON.stringify(row.value);
        if (now === from) store.put({ ...row, value: to }, k);
      }),
    );
  });
}

/** The store's {@link StoreSweep}, over its transaction runner. */
export function sweepOf(run: Run): StoreSweep {
  return {
    scanTranscript: (after, limit) => scan(run, after, limit),
    replaceTranscriptText: (changes) => replace(run, changes),
    metaKeys: () => keys(run),
    sealQuarantine: (seal) => sealQuarantine(run, seal),
  };
}
