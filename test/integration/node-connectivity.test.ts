// Node has no online/offline events: after a network failure the outbox probes the transport's
// host and retries what waited for the network as soon as it answers, not at the end of the
// backoff. The outbox runs on a fake clock that the test never moves, so its backoff timer can
// never fire: a delivery can only come from the probe's wake-up.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator } from '../../simulator/index.js';
import type { Simulator } from '../../simulator/index.js';
import { FakeClock } from '../helpers/fakeClock.js';
import { tutorialOutbox } from '../helpers/tutorialOutbox.js';
import { waitFor } from '../helpers/waitFor.js';

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator({ port: 0 });
});
afterEach(async () => {
  await sim.close();
});

describe('Node outbox, server down then up', () => {
  it('delivers as soon as the host answers again, without waiting out the backoff', async () => {
    await sim.control.outage('refuse');
    const clock = new FakeClock();
    const outbox = await tutorialOutbox(sim, {
      clock,
      random: () => 1, // the full backoff: 60 s, on a clock that never moves
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, maxAttempts: 5 },
    });
    try {
      const entry = await outbox.send({ text: 'while down', metadata: { guestId: 'g1' } });
      const waiting = await waitFor(
        async () => (await outbox.list()).find((e) => e.lastError?.code === 'network'),
        { what: 'the first attempt to fail on the network' },
      );
      expect(waiting.nextAttemptAt).toBe(clock.now() + 60_000);
      expect(sim.control.delivered()).toHaveLength(0);

      await sim.control.outage(false);
      await waitFor(() => sim.control.delivered().length === 1, {
        timeoutMs: 10_000,
        what: 'the delivery after the server came back',
      });
      const settled = await outbox.whenSettled(entry.id);
      expect(settled.status).toBe('sent');
      expect(sim.control.delivered().map((d) => d.externalId)).toEqual([entry.id]);
      expect(clock.now()).toBe(waiting.nextAttemptAt! - 60_000); // the backoff never elapsed
    } finally {
      await outbox.close();
    }
  });
});
