// flush() on a standby (another instance holds the sender lease / Web Lock): it asks the sender
// to look and resolves once the sender tried what was queued at the call, as the store shows it
// (src/outbox/standbyFlush.ts). Here the test plays the sender: it writes the store and tells the
// standby of each change as the sender's events would (onRemoteEvent).
import { describe, expect, it } from 'vitest';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import type { Coordinator, CoordinatorHandlers } from '../../src/coordination/Coordinator.js';
import type { StoredEntry } from '../../src/outbox/entry.js';
import { silentLogger } from '../../src/internal/logger.js';
import { memoryStore } from '../../src/store/memory.js';
import { GatedTransport } from '../helpers/gatedTransport.js';
import { waitFor } from '../helpers/waitFor.js';

function standby() {
  const state = { leader: false, wakes: 0, handlers: undefined as CoordinatorHandlers | undefined };
  const coordinator: Coordinator = {
    start: (h) => {
      state.handlers = h;
    },
    isLeader: () => state.leader,
    broadcast: () => {},
    requestWake: () => {
      state.wakes++;
    },
    close: async () => {},
  };
  return { state, coordinator };
}

const tick = (ms = 50) => new Promise((r) => setTimeout(r, ms));

describe("a standby's flush()", () => {
  it('waits for each queued head to be tried; a head left in backoff ends its conversation; taking over flushes itself', async () => {
    const store = memoryStore();
    const transport = new GatedTransport();
    const { state, coordinator } = standby();
    const outbox = await createOutbox({ transport, store, coordinator, logger: silentLogger });
    const a0 = await outbox.send({ text: 'a0', conversationId: 'a' });
    const a1 = await outbox.send({ text: 'a1', conversationId: 'a' });
    const b0 = await outbox.send({ text: 'b0', conversationId: 'b' });
    let flushed = false;
    const wakesBefore = state.wakes;
    const flushing = outbox.flush().then(() => (flushed = true));
    await tick();
    expect(state.wakes).toBe(wakesBefore + 1); // it asked the sender
    expect(flushed).toBe(false);

    // The sender delivers a0: a1 is the head of 'a' now, due and not tried yet.
    await store.remove(a0.id);
    state.handlers?.onRemoteEvent({
      type: 'status',
      entry: { ...a0, status: 'sent', attempts: 1 },
    });
    await tick();
    expect(flushed).toBe(false);

    // The sender tries a1, which fails into backoff: 'a' is as far as the sender goes now.
    const stored = (await store.get(a1.id)) as StoredEntry;
    const backoff: StoredEntry = { ...stored, attempts: 1, nextAttemptAt: Date.now() + 60_000 };
    await store.update(backoff);
    state.handlers?.onRemoteEvent({ type: 'status', entry: backoff });
    await tick();
    expect(flushed).toBe(false); // b0 is still due and untried

    // This instance takes over (the sender died): it flushes itself, and b0 goes out.
    state.leader = true;
    state.handlers?.onLeadershipChange(true);
    await waitFor(() => transport.held.some((h) => h.entry.id === b0.id), {
      what: 'b0 attempted by the new sender',
    });
    expect(flushed).toBe(false); // the new sender's flush waits for its attempt
    for (const h of [...transport.held]) h.answer({ kind: 'delivered' });
    await flushing;
    expect(transport.attempts.map((x) => x.text)).toContain('b0');
    await outbox.close();
  });

  it('resolves at once when nothing is queued, and when the outbox closes meanwhile', async () => {
    const store = memoryStore();
    const { coordinator } = standby();
    const outbox = await createOutbox({
      transport: new GatedTransport(),
      store,
      coordinator,
      logger: silentLogger,
    });
    await outbox.flush();
    await outbox.send({ text: 'x' });
    const flushing = outbox.flush();
    await tick();
    await outbox.close();
    await expect(flushing).resolves.toBeUndefined();
  });
});
