// Issue 15: the transcript's reads and writes (transcript/lines.ts) are a chunk that the outbox
// fetches as soon as it starts, outside the first load. Until it is there, send() commits to
// IndexedDB (fake-indexeddb) and the entry is attempted; its delivery is recorded (transcript
// line written, entry removed) once the chunk arrives, and a transcript read waits for it. The
// chunk's arrival is held back by mocking the module behind a gate.
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { storedEntries } from '../helpers/storedEntries.js';
import { lazyOutbox } from '../helpers/lazyOutbox.js';
import { waitFor } from '../helpers/waitFor.js';

const chunk = vi.hoisted(() => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  return { gate, open, requested: false };
});

vi.mock('../../src/transcript/lines.js', async (importOriginal) => {
  chunk.requested = true;
  await chunk.gate;
  return importOriginal();
});

describe('the transcript as a chunk fetched at start', () => {
  it('send() commits and is attempted before the chunk arrived; the delivery is recorded after', async () => {
    const { outbox, transport, name } = await lazyOutbox('lazy-transcript');
    await vi.waitFor(() => expect(chunk.requested).toBe(true)); // fetched at start

    const entry = await outbox.send({ text: 'before the transcript chunk' });
    await waitFor(() => transport.delivered.length === 1, { what: 'the attempt' });
    const listed = outbox.transcript.list();
    // Delivered, but not recorded yet: the entry is still in the store (the line and the
    // removal are one write, which needs the chunk).
    expect((await storedEntries(name)).map((e) => e.id)).toEqual([entry.id]);

    chunk.open();
    expect((await outbox.whenSettled(entry.id)).status).toBe('sent');
    expect((await listed).map((r) => [r.key, r.text])).toEqual([
      [entry.id, 'before the transcript chunk'],
    ]);
    expect((await outbox.transcript.list()).map((r) => [r.key, r.status])).toEqual([
      [entry.id, 'sent'],
    ]);
    await outbox.close();
  });
});
