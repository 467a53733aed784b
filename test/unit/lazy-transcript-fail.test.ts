// Issue 15: the transcript's chunk (transcript/lines.ts) cannot be fetched (the network dropped
// while the page started). send() still commits; a transcript read rejects with `load-failed`
// instead of hanging, and the next read fetches the chunk again.
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { rejectionCode } from '../helpers/errorCode.js';
import { lazyOutbox } from '../helpers/lazyOutbox.js';

const chunk = vi.hoisted(() => ({ fetches: 0, failing: true }));

vi.mock('../../src/transcript/lines.js', async (importOriginal) => {
  chunk.fetches++;
  if (chunk.failing) throw new TypeError('Failed to fetch dynamically imported module');
  return importOriginal();
});

describe('the transcript chunk failing to load', () => {
  it('a read rejects with load-failed, the next one fetches the chunk again and answers', async () => {
    const { outbox } = await lazyOutbox('lazy-transcript-fail');
    const entry = await outbox.send({ text: 'stored while the transcript was unreachable' });
    expect(await rejectionCode(outbox.transcript.list())).toBe('load-failed');
    const failed = chunk.fetches;
    chunk.failing = false;
    const lines = await outbox.transcript.list();
    expect(chunk.fetches).toBe(failed + 1);
    expect(lines.map((r) => r.key)).toContain(entry.id);
    await outbox.close();
  });
});
