// Issue 15: close(), wipe() and list() are in the outbox's methods chunk (outbox/methods.ts),
// fetched as soon as the outbox starts. close() made before the chunk arrived waits for it; one
// that finds it unfetchable rejects with `load-failed` and changes nothing (the outbox keeps
// storing and delivering), and the next close() fetches the chunk again and closes. Never a hang.
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { rejectionCode } from '../helpers/errorCode.js';
import { rawEntries } from '../helpers/storedEntries.js';
import { lazyOutbox } from '../helpers/lazyOutbox.js';
import { waitFor } from '../helpers/waitFor.js';

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

describe('close() through the methods chunk', () => {
  it('unfetchable: load-failed and the outbox stays open; then close() waits for the chunk and closes', async () => {
    const { outbox, transport, name } = await lazyOutbox('lazy-close');
    expect(chunk.fetches).toBe(1);

    expect(await rejectionCode(outbox.close())).toBe('load-failed');
    expect(chunk.fetches).toBe(2); // close() fetched it again
    // Nothing was closed: a send still commits and is delivered.
    const a = await outbox.send({ text: 'after a failed close' });
    expect((await rawEntries(name)).map((r) => r.id)).toEqual([a.id]);
    await waitFor(() => transport.delivered.length === 1, {
      what: 'delivery after a failed close',
    });

    chunk.failing = false; // reachable again, but slow: close() waits for it
    let closed = false;
    const closing = outbox.close().then(() => (closed = true));
    const again = outbox.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false);
    const b = await outbox.send({ text: 'while close() waits for its chunk' }); // still open
    expect(chunk.fetches).toBe(3);

    chunk.open();
    await closing;
    await again;
    expect(closed).toBe(true);
    expect(await rejectionCode(outbox.send({ text: 'after close' }))).toBe('closed');
    expect(await rejectionCode(outbox.list())).toBe('closed');
    expect(await rejectionCode(outbox.wipe())).toBe('closed');
    expect(outbox.close()).toBe(outbox.close()); // every later caller: the same settled promise
    await outbox.close();
    // b was stored before close; its fate (delivered or still pending) is the store's, not lost.
    const left = (await rawEntries(name)).map((r) => r.id);
    expect(left.length === 0 || (left.length === 1 && left[0] === b.id)).toBe(true);
  });
});
