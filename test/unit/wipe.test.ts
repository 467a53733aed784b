// Outbox.wipe(): the remote session first, then every local record, in every tab.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { createOutbox, type Outbox } from '../../src/outbox/createOutbox.js';
import type { OutboxEvent } from '../../src/outbox/events.js';
import { silentLogger } from '../../src/internal/logger.js';
import { leaseCoordinator } from '../../src/coordination/lease.js';
import { memoryStore } from '../../src/store/memory.js';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import { rejectionCode } from '../helpers/errorCode.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
import { waitFor } from '../helpers/waitFor.js';

/** A scripted transport that records the order of wipe() and close() and what the store held then. */
function wipingTransport(log: string[], store?: OutboxStore): ScriptedTransport {
  const t = new ScriptedTransport(() => ({
    kind: 'retry',
    error: { code: 'network', message: 'down' },
  }));
  return Object.assign(t, {
    wipe: async () => {
      log.push(`wipe (store has ${store ? await store.count() : '?'})`);
    },
    close: async () => {
      log.push('close');
    },
  });
}

describe('outbox.wipe()', () => {
  it('ends the remote session first, then deletes entries, transcript and meta, and closes', async () => {
    const store = memoryStore();
    const log: string[] = [];
    const events: OutboxEvent[] = [];
    const outbox = await createOutbox({
      transport: wipingTransport(log, store),
      store,
      coordinator: false,
      logger: silentLogger,
      retry: { baseDelayMs: 60_000 },
    });
    outbox.subscribe((e) => events.push(e));
    await outbox.send({ text: 'hello' });
    await store.setMeta('guest.sessionToken:x', 'tok');
    await store.putTranscript([
      { key: 'a', conversationId: 'default', direction: 'Outbound', text: 'hi', time: 1 },
    ]);
    await outbox.wipe();
    expect(log).toEqual(['wipe (store has 1)', 'close']);
    // An attempt that was in flight may still report its outcome after the wiped event.
    expect(events).toContainEqual({ type: 'wiped' });
    expect(await rejectionCode(store.count())).toBe('closed');
    expect(await rejectionCode(outbox.send({ text: 'again' }))).toBe('closed');
    expect(await rejectionCode(outbox.wipe())).toBe('closed');
  });

  it('the default IndexedDB database is deleted: a new outbox starts empty', async () => {
    const name = `wipe-${Math.random()}`;
    const open = (): Promise<Outbox> =>
      createOutbox({
        transport: wipingTransport([]),
        store: indexedDbStore({ name }),
        coordinator: false,
        logger: silentLogger,
        retry: { baseDelayMs: 60_000 },
      });
    const first = await open();
    await first.send({ text: 'hello' });
    await first.wipe();
    expect((await indexedDB.databases()).map((d) => d.name)).not.toContain(name);
    const second = await open();
    expect(await second.list()).toEqual([]);
    await second.close();
  });

  it('a store without wipe(): entries and the transcript are removed one by one', async () => {
    const inner = memoryStore();
    const { wipe: _none, ...store } = inner;
    const outbox = await createOutbox({
      transport: wipingTransport([]),
      store: { ...store, close: async () => {} },
      coordinator: false,
      logger: silentLogger,
      retry: { baseDelayMs: 60_000 },
    });
    await outbox.send({ text: 'one' });
    await outbox.send({ text: 'two', conversationId: 'other' });
    await inner.putTranscript([
      { key: 'a', conversationId: 'default', direction: 'Outbound', text: 'hi', time: 1 },
    ]);
    await outbox.wipe();
    expect(await inner.count()).toBe(0);
    expect(await inner.listTranscript('default')).toEqual([]);
  });

  it('another tab (same name, same storage) hears of it and closes its outbox', async () => {
    const name = `wipe-tabs-${Math.random()}`;
    const idb = new IDBFactory();
    const store = memoryStore();
    const shared = { ...store, close: async () => {} };
    const open = (): Promise<Outbox> =>
      createOutbox({
        transport: wipingTransport([]),
        store: shared,
        name,
        coordinator: leaseCoordinator({ name, indexedDB: idb }),
        logger: silentLogger,
        retry: { baseDelayMs: 60_000 },
      });
    const a = await open();
    const b = await open();
    const seenByB: OutboxEvent[] = [];
    b.subscribe((e) => seenByB.push(e));
    await a.send({ text: 'from a' });
    await waitFor(() => seenByB.some((e) => e.type === 'status'), { what: 'b hears a' });
    await a.wipe();
    await waitFor(() => seenByB.some((e) => e.type === 'wiped'), { what: 'b hears the wipe' });
    await waitFor(async () => (await rejectionCode(b.list())) === 'closed', {
      what: 'b closed',
    });
  });
});
