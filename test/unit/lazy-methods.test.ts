// Issue 15: the outbox's whenSettled, retry, discard and flush (outbox/methods.ts) are a chunk
// fetched as soon as the outbox starts, outside the first load. send() does not need it. While
// the chunk cannot be fetched, those calls reject with `load-failed` (no hang) and the next call
// fetches it again; calls made while it is on its way wait for it.
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { rejectionCode } from '../helpers/errorCode.js';
import { rawEntries } from '../helpers/storedEntries.js';
import { lazyOutbox } from '../helpers/lazyOutbox.js';

const chunk = vi.hoisted(() => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  return { gate, open, fetches: 0, failing: true };
});

vi.mock('../../src/outbox/methods.js', async (importOriginal) => {
  chunk.fetches++;
  if (chunk.failing) throw new TypeError('Failed to fetch dynamically imported module');
  await chunk.gate;
  return importOriginal();
});

describe('the outbox methods as a chunk fetched at start', () => {
  it('send() works without it; unfetchable: load-failed, then fetched again; calls made meanwhile wait for it', async () => {
    const { outbox, transport, name } = await lazyOutbox('lazy-methods');
    expect(chunk.fetches).toBe(1); // asked for when the outbox started

    const entry = await outbox.send({ text: 'sent without the methods chunk' });
    expect((await rawEntries(name)).map((r) => r.id)).toEqual([entry.id]);
    expect(await rejectionCode(outbox.whenSettled(entry.id))).toBe('load-failed');
    expect(chunk.fetches).toBe(2); // the call fetched it again

    chunk.failing = false; // reachable again, but slow: the calls below wait for it
    const order: string[] = [];
    const settled = outbox.whenSettled(entry.id).then((e) => order.push(`settled ${e.status}`));
    const flushed = outbox.flush().then(() => order.push('flushed'));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]);
    expect(chunk.fetches).toBe(3);

    chunk.open();
    await Promise.all([settled, flushed]);
    expect(transport.delivered.map((e) => e.id)).toEqual([entry.id]);
    expect(order).toContain('flushed');
    expect(order).toContain('settled sent');
    expect(await rejectionCode(outbox.discard(entry.id))).toBe('not-found'); // delivered, gone
    await outbox.close();
    expect(await rejectionCode(outbox.whenSettled(entry.id))).toBe('closed');
  });
});
