import WebSocket from 'ws';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startSimulator } from '../../simulator/index.js';
import type { Simulator } from '../../simulator/index.js';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import { memoryStore } from '../../src/store/memory.js';
import { guestTransport } from '../../src/transport/guest.js';
import { silentLogger } from '../../src/internal/logger.js';
import { waitFor } from '../helpers/waitFor.js';

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator({ port: 0 });
});
afterEach(async () => {
  await sim.close();
});

it('coming online reconnects the guest socket at once instead of waiting out its backoff', async () => {
  let online = true;
  const listeners = new Set<(o: boolean) => void>();
  const connectivity = {
    isOnline: () => online,
    subscribe: (l: (o: boolean) => void) => (listeners.add(l), () => listeners.delete(l)),
  };
  const outbox = await createOutbox({
    store: memoryStore(),
    coordinator: false,
    logger: silentLogger,
    connectivity,
    random: () => 1, // every reconnect backoff is its full ceiling
    transport: guestTransport({
      webSocketUrl: sim.wsUrl,
      apiBaseUrl: sim.url,
      deploymentId: 'sim-deployment',
      WebSocket,
      reconnect: { baseDelayMs: 120_000, maxDelayMs: 120_000 },
    }),
  });
  const first = await outbox.send({ text: 'before' });
  await outbox.whenSettled(first.id);

  online = false;
  for (const l of listeners) l(false);
  await sim.control.outage('refuse'); // the socket drops; the next reconnect is 2 minutes away
  const e = await outbox.send({ text: 'during' });
  await new Promise((r) => setTimeout(r, 100));
  await sim.control.outage(false);
  online = true;
  for (const l of listeners) l(true);
  await expect(outbox.whenSettled(e.id)).resolves.toMatchObject({ status: 'sent' });
  await waitFor(() => sim.control.delivered().length === 2);
  expect(sim.control.delivered().map((d) => d.text)).toEqual(['before', 'during']);
  await outbox.close();
}, 20_000);
