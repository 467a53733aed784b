// The one contract suite every OutboxStore must pass (see src/store/OutboxStore.ts).
import { rejectionCode } from '../helpers/errorCode.js';
import { describe, expect, it, afterEach } from 'vitest';
import type { NewEntry, StoredEntry } from '../../src/outbox/entry.js';
import type { OutboxStore, TranscriptRecord } from '../../src/store/OutboxStore.js';

export interface StoreHarness {
  store: OutboxStore;
  /** Closes `store` (if still open) and opens the same storage again. */
  reopen: () => Promise<OutboxStore>;
  cleanup: () => Promise<void>;
}

export interface ContractOptions {
  /** Whether data survives `reopen()` (false for the memory store). @default true */
  persistent?: boolean;
  /** Whether the store implements the optional `removeDelivered`. @default true */
  removeDelivered?: boolean;
  /** Whether the store implements the optional `wipe`. @default true */
  wipe?: boolean;
  /** Whether the store implements the optional `claimTranscript`. @default true */
  claimTranscript?: boolean;
  /**
   * Whether the store implements the optional `sweep()` (scanTranscript, replaceTranscriptText,
   * metaKeys: the encryption wrapper's background sweep). @default false
   */
  sweep?: boolean;
}

let counter = 0;
/** A valid new entry; ids are deterministic per test run (no randomness in expectations). */
export function newEntry(overrides: Partial<NewEntry> = {}): NewEntry {
  counter += 1;
  return {
    id: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    conversationId: 'c1',
    text: `message ${counter}`,
    status: 'pending',
    attempts: 0,
    createdAt: 1_700_000_000_000 + counter,
    ...overrides,
  };
}

export function line(
  key: string,
  time: number,
  overrides: Partial<TranscriptRecord> = {},
): TranscriptRecord {
  return { key, conversationId: 'c1', direction: 'Inbound', text: `t-${key}`, time, ...overrides };
}

/** A record as a store returns it: with the order it was stored with (`time × 1000` by default). */
export const placed = (r: TranscriptRecord): TranscriptRecord => ({
  ...r,
  order: r.order ?? r.time * 1000,
});

/** The OutboxError code a store call rejects with ('no error' when it resolves). */
export const codeOf = rejectionCode;

const ids = (es: readonly StoredEntry[]): string[] => es.map((e) => e.id);

export function runStoreContract(
  name: string,
  makeStore: () => Promise<StoreHarness>,
  options: ContractOptions = {},
): void {
  const persistent = options.persistent ?? true;
  const hasRemoveDelivered = options.removeDelivered ?? true;

  describe(`OutboxStore contract: ${name}`, () => {
    let h: StoreHarness;
    let store: OutboxStore;
    const setup = async (): Promise<OutboxStore> => {
      h = await makeStore();
      store = h.store;
      await store.open();
      return store;
    };
    afterEach(async () => {
      await h.cleanup();
    });

    it('wipe() removes every entry, line and meta value from the storage and closes the store', async () => {
      await setup();
      if (options.wipe === false) {
        // optional: createOutbox falls back to removing entries and lines one by one
        expect(store.wipe).toBeUndefined();
        return;
      }
      await store.append([newEntry(), newEntry({ conversationId: 'c2' })]);
      await store.putTranscript([line('k1', 1)]);
      await store.setMeta('token', 'secret-token');
      await store.wipe!();
      expect(await codeOf(store.count())).toBe('closed');
      const again = await h.reopen();
      store = again;
      await again.open();
      expect(await again.count()).toBe(0);
      expect(await again.listTranscript('c1')).toEqual([]);
      expect(await again.getMeta('token')).toBeUndefined();
    });

    it('open() is idempotent', async () => {
      await setup();
      await store.open();
      expect(await store.count()).toBe(0);
    });

    it('append assigns increasing seq and returns the entries as stored', async () => {
      await setup();
      const a = newEntry({ metadata: { k: 'v' } });
      const b = newEntry();
      const stored = await store.append([a, b]);
      expect(stored).toEqual([
        { ...a, seq: stored[0]?.seq },
        { ...b, seq: stored[1]?.seq },
      ]);
      expect(stored[1]!.seq).toBeGreaterThan(stored[0]!.seq);
      const [c] = await store.append([newEntry()]);
      expect(c!.seq).toBeGreaterThan(stored[1]!.seq);
    });

    it('every field round-trips', async () => {
      await setup();
      const full = newEntry({
        metadata: { a: '1', b: '' },
        status: 'sending',
        attempts: 3,
        nextAttemptAt: 1_700_000_009_999,
        lastError: { code: 'rate-limited', message: 'slow down', status: 429 },
        offlineAttempts: 2,
        inDoubtSince: 1_700_000_000_123,
        text: 'ünïcödé 💬 "quotes" \n newline',
      });
      const [stored] = await store.append([full]);
      expect(stored).toEqual({ ...full, seq: stored!.seq });
      expect(await store.get(full.id)).toEqual(stored);
      expect(await store.list()).toEqual([stored]);
      expect(await store.heads()).toEqual([stored]);
    });

    it('appends many entries in one call (group commit), in order', async () => {
      await setup();
      const batch = Array.from({ length: 200 }, (_, i) =>
        newEntry({ conversationId: `c${i % 7}` }),
      );
      const stored = await store.append(batch);
      expect(ids(stored)).toEqual(ids(batch as StoredEntry[]));
      for (let i = 1; i < stored.length; i++)
        expect(stored[i]!.seq).toBeGreaterThan(stored[i - 1]!.seq);
      expect(await store.count()).toBe(200);
      expect(ids(await store.list())).toEqual(ids(stored));
    });

    it('append with generatedIds (ids the caller just generated) stores and returns them as append does', async () => {
      await setup();
      const [a] = await store.append([newEntry()]);
      const batch = [newEntry({ conversationId: 'c2' }), newEntry()];
      const stored = await store.append(batch, { generatedIds: true });
      expect(ids(stored)).toEqual(ids(batch as StoredEntry[]));
      expect(stored[0]!.seq).toBeGreaterThan(a!.seq);
      expect(stored[1]!.seq).toBeGreaterThan(stored[0]!.seq);
      expect(await store.list()).toEqual([a, ...stored]);
      expect(ids(await store.heads())).toEqual([a!.id, stored[0]!.id]);
    });

    it('append of an empty batch is a no-op', async () => {
      await setup();
      expect(await store.append([])).toEqual([]);
      expect(await store.count()).toBe(0);
    });

    it('append of an id already stored rejects and stores nothing of that batch', async () => {
      await setup();
      const a = newEntry();
      await store.append([a]);
      const b = newEntry();
      expect(await codeOf(store.append([b, { ...a, text: 'other' }]))).toBe('invalid-id');
      expect(ids(await store.list())).toEqual([a.id]);
      expect((await store.get(a.id))?.text).toBe(a.text);
      // the store is still usable
      await store.append([b]);
      expect(await store.count()).toBe(2);
    });

    it('seq never goes backwards after remove', async () => {
      await setup();
      const [a, b] = await store.append([newEntry(), newEntry()]);
      await store.remove(a!.id);
      await store.remove(b!.id);
      const [c] = await store.append([newEntry()]);
      expect(c!.seq).toBeGreaterThan(b!.seq);
    });

    if (persistent) {
      it('seq never goes backwards after remove and reopen; data survives reopen', async () => {
        await setup();
        const [a, b] = await store.append([newEntry(), newEntry({ conversationId: 'c2' })]);
        await store.setMeta('session', { token: 'x' });
        await store.putTranscript([line('k1', 5)]);
        await store.remove(b!.id);
        const again = await h.reopen();
        await again.open();
        expect(await again.list()).toEqual([a]);
        expect(await again.getMeta('session')).toEqual({ token: 'x' });
        expect(await again.listTranscript('c1')).toEqual([placed(line('k1', 5))]);
        const [c] = await again.append([newEntry()]);
        expect(c!.seq).toBeGreaterThan(b!.seq);
        await again.close();
      });
    }

    it('update replaces the entry and keeps its place; requeue moves it to the back', async () => {
      await setup();
      const [a, b, c] = await store.append([newEntry(), newEntry(), newEntry()]);
      const updated = await store.update({ ...a!, status: 'sending', attempts: 1 });
      expect(updated).toEqual({ ...a, status: 'sending', attempts: 1 });
      expect(ids(await store.list())).toEqual([a!.id, b!.id, c!.id]);
      expect(await store.heads()).toEqual([updated]);

      const requeued = await store.update(
        { ...a!, status: 'pending', attempts: 2 },
        { requeue: true },
      );
      expect(requeued.seq).toBeGreaterThan(c!.seq);
      expect(ids(await store.list())).toEqual([b!.id, c!.id, a!.id]);
      expect(await store.get(a!.id)).toEqual(requeued);
      expect(ids(await store.heads())).toEqual([b!.id]);
    });

    it('update keeps the stored seq even if the caller passes another one', async () => {
      await setup();
      const [a, b] = await store.append([newEntry(), newEntry()]);
      const u = await store.update({ ...b!, seq: 0, attempts: 3 });
      expect(u.seq).toBe(b!.seq);
      expect(ids(await store.list())).toEqual([a!.id, b!.id]);
    });

    it('update of a missing id rejects with not-found and stores nothing', async () => {
      await setup();
      const ghost = { ...newEntry(), seq: 1 };
      expect(await codeOf(store.update(ghost))).toBe('not-found');
      expect(await codeOf(store.update(ghost, { requeue: true }))).toBe('not-found');
      expect(await store.count()).toBe(0);
    });

    it('update can drop optional fields', async () => {
      await setup();
      const [a] = await store.append([
        newEntry({ nextAttemptAt: 5, lastError: { code: 'network', message: 'x' } }),
      ]);
      const { nextAttemptAt: _n, lastError: _l, ...rest } = a!;
      expect(await store.update(rest)).toEqual(rest);
      expect(await store.get(a!.id)).toEqual(rest);
    });

    it('heads: the oldest pending/sending entry of each conversation, ordered by seq', async () => {
      await setup();
      const [a1, b1, a2, c1, b2] = await store.append([
        newEntry({ conversationId: 'a' }),
        newEntry({ conversationId: 'b' }),
        newEntry({ conversationId: 'a' }),
        newEntry({ conversationId: 'c' }),
        newEntry({ conversationId: 'b' }),
      ]);
      expect(ids(await store.heads())).toEqual([a1!.id, b1!.id, c1!.id]);
      expect(await store.heads()).toEqual([a1, b1, c1]);

      // a failed entry does not hold its conversation
      await store.update({
        ...a1!,
        status: 'failed',
        lastError: { code: 'rejected', message: 'no' },
      });
      expect(ids(await store.heads())).toEqual([b1!.id, a2!.id, c1!.id]);

      // a sending entry still holds it
      await store.update({ ...b1!, status: 'sending' });
      expect(ids(await store.heads())).toEqual([b1!.id, a2!.id, c1!.id]);

      // a conversation with only failed entries has no head
      await store.update({ ...c1!, status: 'failed' });
      await store.remove(b1!.id);
      expect(ids(await store.heads())).toEqual([a2!.id, b2!.id]);

      // retrying a failed entry puts it behind the others of its conversation
      await store.update({ ...a1!, status: 'pending' }, { requeue: true });
      expect(ids(await store.heads())).toEqual([a2!.id, b2!.id]);
      await store.remove(a2!.id);
      expect(ids(await store.heads())).toEqual([b2!.id, a1!.id]);
    });

    it('heads: a failed entry that becomes pending again without requeue regains its place', async () => {
      await setup();
      const [a1, a2] = await store.append([newEntry(), newEntry()]);
      await store.update({ ...a1!, status: 'failed' });
      expect(ids(await store.heads())).toEqual([a2!.id]);
      await store.update({ ...a1!, status: 'pending' });
      expect(ids(await store.heads())).toEqual([a1!.id]);
    });

    it('heads(limit) returns at most limit heads, the oldest first', async () => {
      await setup();
      const stored = await store.append([
        newEntry({ conversationId: 'z' }),
        newEntry({ conversationId: 'y' }),
        newEntry({ conversationId: 'z' }),
        newEntry({ conversationId: 'x' }),
        newEntry({ conversationId: 'w' }),
      ]);
      expect(ids(await store.heads(2))).toEqual([stored[0]!.id, stored[1]!.id]);
      expect(ids(await store.heads(1))).toEqual([stored[0]!.id]);
      expect(await store.heads(0)).toEqual([]);
      expect(await store.heads(-1)).toEqual([]);
      expect(ids(await store.heads(10))).toEqual([
        stored[0]!.id,
        stored[1]!.id,
        stored[3]!.id,
        stored[4]!.id,
      ]);
    });

    it('headOf: the head of one conversation, as heads() has it, whatever happened before', async () => {
      await setup();
      expect(typeof store.headOf).toBe('function');
      expect(await store.headOf!('nobody')).toBeUndefined();
      // A seeded random walk of appends, updates (status, requeue) and removes over 3
      // conversations; after each step headOf(c) must equal the head heads() lists for c.
      let x = 0x2545f491;
      const rand = (n: number): number => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return (x >>> 0) % n;
      };
      const convs = ['a', 'b', 'c'];
      const known: StoredEntry[] = [];
      for (let step = 0; step < 60; step++) {
        const op = rand(4);
        if (op === 0 || known.length === 0) {
          const [e] = await store.append([newEntry({ conversationId: convs[rand(3)]! })]);
          known.push(e!);
        } else if (op === 1) {
          const i = rand(known.length);
          const status = (['pending', 'sending', 'failed'] as const)[rand(3)]!;
          known[i] = await store.update({ ...known[i]!, status }, { requeue: rand(2) === 0 });
        } else if (op === 2) {
          const [gone] = known.splice(rand(known.length), 1);
          await store.remove(gone!.id);
        } else {
          const [e] = await store.append([newEntry({ conversationId: convs[rand(3)]! })]);
          known.push(e!);
        }
        const heads = await store.heads();
        for (const c of convs) {
          expect(await store.headOf!(c)).toEqual(heads.find((h) => h.conversationId === c));
        }
      }
      // a copy, not the stored object
      const head = (await store.heads())[0]!;
      const copy = (await store.headOf!(head.conversationId))!;
      copy.text = 'changed';
      expect((await store.headOf!(head.conversationId))!.text).toBe(head.text);
    });

    it('heads of an empty store is empty', async () => {
      await setup();
      expect(await store.heads()).toEqual([]);
    });

    it('list returns every entry (any status), oldest seq first', async () => {
      await setup();
      const [a, b, c] = await store.append([
        newEntry({ conversationId: 'q' }),
        newEntry({ conversationId: 'p' }),
        newEntry({ conversationId: 'q' }),
      ]);
      await store.update({ ...b!, status: 'failed' });
      await store.update({ ...a!, status: 'sending' });
      expect(ids(await store.list())).toEqual([a!.id, b!.id, c!.id]);
      expect((await store.list()).map((e) => e.status)).toEqual(['sending', 'failed', 'pending']);
    });

    it('get and remove', async () => {
      await setup();
      const [a, b] = await store.append([newEntry(), newEntry()]);
      expect(await store.get(a!.id)).toEqual(a);
      expect(await store.get('nope')).toBeUndefined();
      await store.remove(a!.id);
      await store.remove(a!.id); // absent: not an error
      await store.remove('nope');
      expect(await store.get(a!.id)).toBeUndefined();
      expect(await store.list()).toEqual([b]);
      expect(await store.heads()).toEqual([b]);
    });

    it('count counts every status', async () => {
      await setup();
      const [a] = await store.append([newEntry(), newEntry(), newEntry({ conversationId: 'x' })]);
      await store.update({ ...a!, status: 'failed' });
      expect(await store.count()).toBe(3);
      await store.remove(a!.id);
      expect(await store.count()).toBe(2);
    });

    it('meta round trip: strings and objects; absent key is undefined', async () => {
      await setup();
      expect(await store.getMeta('missing')).toBeUndefined();
      await store.setMeta('token', 'abc');
      await store.setMeta('obj', { a: 1, b: ['x', { c: true }], d: null });
      expect(await store.getMeta('token')).toBe('abc');
      expect(await store.getMeta('obj')).toEqual({ a: 1, b: ['x', { c: true }], d: null });
      await store.setMeta('token', 'def');
      expect(await store.getMeta('token')).toBe('def');
      // meta keys never clash with the store's own bookkeeping
      await store.setMeta('seq', 'mine');
      const [e] = await store.append([newEntry()]);
      expect(await store.getMeta('seq')).toBe('mine');
      expect(e!.seq).toBeGreaterThan(0);
    });

    it('setMetaIfAbsent: the first value stored wins, every caller gets it, setMeta still replaces it', async () => {
      await setup();
      expect(store.setMetaIfAbsent).toBeTypeOf('function');
      expect(await store.setMetaIfAbsent!('first', { v: 1 })).toEqual({ v: 1 });
      expect(await store.setMetaIfAbsent!('first', { v: 2 })).toEqual({ v: 1 });
      expect(await store.getMeta('first')).toEqual({ v: 1 });
      // Issued at once: one value wins and every call answers it.
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.setMetaIfAbsent!('raced', `value ${i}`)),
      );
      expect(new Set(answers).size).toBe(1);
      expect(await store.getMeta('raced')).toBe(answers[0]);
      await store.setMeta('first', 'replaced');
      expect(await store.setMetaIfAbsent!('first', 'ignored')).toBe('replaced');
    });

    it('transcript: ordered by time, then insertion; listed per conversation', async () => {
      await setup();
      await store.putTranscript([line('a', 30), line('b', 10), line('c', 20)]);
      await store.putTranscript([line('d', 20), line('x', 1, { conversationId: 'other' })]);
      await store.putTranscript([line('e', 10)]);
      expect((await store.listTranscript('c1')).map((r) => r.key)).toEqual([
        'b',
        'e',
        'c',
        'd',
        'a',
      ]);
      expect(await store.listTranscript('other')).toEqual([
        placed(line('x', 1, { conversationId: 'other' })),
      ]);
      expect(await store.listTranscript('none')).toEqual([]);
      expect((await store.listTranscript('c1', 2)).map((r) => r.key)).toEqual(['d', 'a']);
      expect(await store.listTranscript('c1', 0)).toEqual([]);
      expect(await store.listTranscript('c1', -1)).toEqual([]);
    });

    it('transcript: claimTranscript writes a new key, or over a stale pending hand-off only', async () => {
      await setup();
      if (options.claimTranscript === false) {
        expect(store.claimTranscript).toBeUndefined();
        return;
      }
      const claim = store.claimTranscript!.bind(store);
      const first = line('m1', 10, { order: 5, handoff: { state: 'pending', since: 100 } });
      expect(await claim(first, 50)).toBe(true);
      expect(await store.getTranscript('m1')).toEqual(first);
      // known, and its hand-off started after staleBefore: nothing written
      expect(await claim({ ...first, text: 'again' }, 100)).toBe(false);
      expect((await store.getTranscript('m1'))?.text).toBe(first.text);
      // a hand-off pending since before staleBefore is taken over; the line keeps its place
      const taken = { ...first, order: 999, handoff: { state: 'pending' as const, since: 300 } };
      expect(await claim(taken, 101)).toBe(true);
      expect(await store.getTranscript('m1')).toEqual({ ...taken, order: 5 });
      // done, or no hand-off at all: never written over
      await store.putTranscript([{ ...taken, handoff: { state: 'done', since: 300 } }]);
      expect(await claim(taken, Number.MAX_SAFE_INTEGER)).toBe(false);
      await store.putTranscript([line('m2', 20)]);
      expect(await claim(line('m2', 30), Number.MAX_SAFE_INTEGER)).toBe(false);
      expect((await store.getTranscript('m2'))?.time).toBe(20);
      expect((await store.listTranscript('c1')).map((r) => r.key)).toEqual(['m1', 'm2']);
      await store.close();
      expect(await codeOf(claim(line('m3', 1), 0))).toBe('closed');
    });

    it('sweep(): scanTranscript pages every conversation by key; replaceTranscriptText only where unchanged; metaKeys', async () => {
      await setup();
      if (options.sweep !== true) {
        expect(store.sweep).toBeUndefined();
        return;
      }
      const sweep = await store.sweep!();
      await store.putTranscript([
        line('k3', 1, { conversationId: 'b' }),
        line('k1', 2, { conversationId: 'a', order: 7, status: 'sent', serverId: 's1' }),
        line('k2', 3, { conversationId: 'c' }),
        line('k4', 4, { conversationId: 'a' }),
      ]);
      const scan = sweep.scanTranscript.bind(sweep);
      expect((await scan(undefined, 2)).map((r) => r.key)).toEqual(['k1', 'k2']);
      expect((await scan('k2', 2)).map((r) => r.key)).toEqual(['k3', 'k4']);
      expect(await scan('k4', 2)).toEqual([]);
      expect((await scan(undefined, 1))[0]).toEqual(
        placed(line('k1', 2, { conversationId: 'a', order: 7, status: 'sent', serverId: 's1' })),
      );
      // k1 still holds what was read: replaced; k2 was written since: kept; k9 does not exist.
      await store.putTranscript([line('k2', 3, { conversationId: 'c', text: 'newer' })]);
      await sweep.replaceTranscriptText([
        { key: 'k1', from: 't-k1', to: 'sealed-1' },
        { key: 'k2', from: 't-k2', to: 'sealed-2' },
        { key: 'k9', from: 't-k9', to: 'sealed-9' },
      ]);
      expect(await store.getTranscript('k1')).toEqual(
        placed(
          line('k1', 2, {
            conversationId: 'a',
            order: 7,
            status: 'sent',
            serverId: 's1',
            text: 'sealed-1',
          }),
        ),
      );
      expect((await store.getTranscript('k2'))?.text).toBe('newer');
      expect(await store.getTranscript('k9')).toBeUndefined();
      expect((await store.listTranscript('a')).map((r) => r.key)).toEqual(['k1', 'k4']);
      await store.setMeta('m.b', 1);
      await store.setMeta('m.a', { x: 1 });
      expect((await sweep.metaKeys()).filter((k) => k.startsWith('m.')).sort()).toEqual([
        'm.a',
        'm.b',
      ]);
    });

    it('transcript: put replaces by key; get by key', async () => {
      await setup();
      const full = line('a', 10, {
        status: 'pending',
        serverId: 's1',
        originatingEntity: 'Human',
        direction: 'Outbound',
      });
      await store.putTranscript([full, line('b', 10)]);
      expect(await store.getTranscript('a')).toEqual(placed(full));
      expect(await store.getTranscript('zzz')).toBeUndefined();
      const sent = { ...full, status: 'sent' as const };
      await store.putTranscript([sent]);
      expect(await store.getTranscript('a')).toEqual(placed(sent));
      // replacing keeps the insertion order among equal times
      expect((await store.listTranscript('c1')).map((r) => r.key)).toEqual(['a', 'b']);
      // same order (both stored without one: time × 1000): a new time sorts it among its ties;
      // lines with different orders never move (next test)
      await store.putTranscript([{ ...sent, time: 11 }]);
      expect((await store.listTranscript('c1')).map((r) => r.key)).toEqual(['b', 'a']);
      expect((await store.getTranscript('a'))?.time).toBe(11);
      expect((await store.listTranscript('c1')).length).toBe(2);
    });

    it('transcript: ordered by order when given, then time; a replaced record keeps its first order (rule 13)', async () => {
      await setup();
      await store.putTranscript([
        line('late-server-time', 50, { order: 1000 }),
        line('early-server-time', 5, { order: 2000 }),
        line('between', 99, { order: 1500 }),
        line('tie-b', 7, { order: 3000 }),
        line('tie-a', 6, { order: 3000 }),
      ]);
      const keys = async () => (await store.listTranscript('c1')).map((r) => r.key);
      expect(await keys()).toEqual([
        'late-server-time',
        'between',
        'early-server-time',
        'tie-a',
        'tie-b',
      ]);
      // Rewritten with another order (and time): the first order stays.
      await store.putTranscript([line('late-server-time', 1, { order: 9999 })]);
      expect(await keys()).toEqual([
        'late-server-time',
        'between',
        'early-server-time',
        'tie-a',
        'tie-b',
      ]);
      expect((await store.getTranscript('late-server-time'))?.order).toBe(1000);
      // Pruning keeps the last ones in that order.
      await store.pruneTranscript('c1', 2);
      expect(await keys()).toEqual(['tie-a', 'tie-b']);
      if (persistent) {
        store = await h.reopen();
        expect(await keys()).toEqual(['tie-a', 'tie-b']);
      }
    });

    it.runIf(hasRemoveDelivered)(
      'removeDelivered: writes the lines and removes the entry, leaving the others',
      async () => {
        await setup();
        const [a, b] = await store.append([newEntry(), newEntry()]);
        await store.putTranscript([line('earlier', 5)]);
        const sent = line(a!.id, 7, { status: 'sent', serverId: 'srv-1' });
        await store.removeDelivered!(a!.id, [sent]);
        expect(ids(await store.list())).toEqual([b!.id]);
        expect(ids(await store.heads())).toEqual([b!.id]);
        expect(await store.getTranscript(a!.id)).toEqual(placed(sent));
        expect((await store.listTranscript('c1')).map((r) => r.key)).toEqual(['earlier', a!.id]);
        // Replacing a line keeps its insertion number; removing an absent id is not an error.
        await store.removeDelivered!(a!.id, [{ ...sent, text: 'again' }]);
        expect((await store.getTranscript(a!.id))?.text).toBe('again');
        expect(await store.count()).toBe(1);
      },
    );

    it('transcript: prune keeps the newest N of one conversation', async () => {
      await setup();
      await store.putTranscript([
        line('a', 1),
        line('b', 4),
        line('c', 3),
        line('d', 2),
        line('o', 0, { conversationId: 'other' }),
      ]);
      await store.pruneTranscript('c1', 2);
      expect((await store.listTranscript('c1')).map((r) => r.key)).toEqual(['c', 'b']);
      expect(await store.getTranscript('a')).toBeUndefined();
      expect((await store.listTranscript('other')).map((r) => r.key)).toEqual(['o']);
      await store.pruneTranscript('c1', 5);
      expect((await store.listTranscript('c1')).map((r) => r.key)).toEqual(['c', 'b']);
      await store.pruneTranscript('c1', 0);
      expect(await store.listTranscript('c1')).toEqual([]);
    });

    it('returned objects are copies, never the stored ones', async () => {
      await setup();
      const input = newEntry({ metadata: { k: 'v' } });
      const [a] = await store.append([input]);
      input.metadata!['k'] = 'changed-input';
      a!.metadata!['k'] = 'changed-result';
      a!.text = 'changed';
      const got = await store.get(a!.id);
      expect(got?.text).toBe(input.text);
      expect(got?.metadata).toEqual({ k: 'v' });
      got!.status = 'failed';
      (await store.list())[0]!.status = 'failed';
      (await store.heads())[0]!.status = 'failed';
      expect((await store.get(a!.id))?.status).toBe('pending');
      expect(ids(await store.heads())).toEqual([a!.id]);

      const obj = { nested: { n: 1 } };
      await store.setMeta('o', obj);
      obj.nested.n = 2;
      const m = (await store.getMeta('o')) as { nested: { n: number } };
      expect(m.nested.n).toBe(1);
      m.nested.n = 3;
      expect(await store.getMeta('o')).toEqual({ nested: { n: 1 } });

      const rec = line('k', 1);
      await store.putTranscript([rec]);
      rec.text = 'changed';
      const got2 = await store.getTranscript('k');
      expect(got2?.text).toBe('t-k');
      got2!.text = 'changed';
      expect((await store.listTranscript('c1'))[0]?.text).toBe('t-k');
    });

    it('close: later calls reject with code closed', async () => {
      await setup();
      await store.append([newEntry()]);
      await store.close();
      const e = newEntry();
      expect(await codeOf(store.open())).toBe('closed');
      expect(await codeOf(store.append([e]))).toBe('closed');
      expect(await codeOf(store.update({ ...e, seq: 1 }))).toBe('closed');
      expect(await codeOf(store.remove(e.id))).toBe('closed');
      expect(await codeOf(store.get(e.id))).toBe('closed');
      expect(await codeOf(store.list())).toBe('closed');
      expect(await codeOf(store.heads())).toBe('closed');
      expect(await codeOf(store.count())).toBe('closed');
      expect(await codeOf(store.getMeta('x'))).toBe('closed');
      expect(await codeOf(store.setMeta('x', 1))).toBe('closed');
      expect(await codeOf(store.putTranscript([line('a', 1)]))).toBe('closed');
      expect(await codeOf(store.listTranscript('c1'))).toBe('closed');
      expect(await codeOf(store.getTranscript('a'))).toBe('closed');
      expect(await codeOf(store.pruneTranscript('c1', 1))).toBe('closed');
      await store.close(); // closing twice is fine
    });

    it('methods work without an explicit open() (opened lazily)', async () => {
      h = await makeStore();
      store = h.store;
      const [a] = await store.append([newEntry()]);
      expect(await store.get(a!.id)).toEqual(a);
    });

    it('concurrent operations all settle, and concurrent appends get distinct seqs', async () => {
      await setup();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.append([newEntry({ conversationId: `c${i % 3}` })]),
        ),
      );
      const seqs = results.map((r) => r[0]!.seq);
      expect(new Set(seqs).size).toBe(20);
      expect(await store.count()).toBe(20);
      expect((await store.heads()).length).toBe(3);
    });
  });
}
