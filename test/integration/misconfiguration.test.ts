// Permanent misconfigurations fail fast with their own code (issue 12, "Errors that say what to do").
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import { silentLogger } from '../../src/internal/logger.js';
import { memoryStore } from '../../src/store/memory.js';
import { guestTransport } from '../../src/transport/guest.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim.close();
});

it('an unknown deployment fails the entry at once with unknown-deployment (not 20 retries)', async () => {
  const outbox = await createOutbox({
    transport: guestTransport({
      webSocketUrl: sim.wsUrl,
      apiBaseUrl: sim.url,
      deploymentId: 'no-such-deployment',
      WebSocket,
      reconnect: { baseDelayMs: 20, maxDelayMs: 100 },
    }),
    store: memoryStore(),
    coordinator: false,
    retry: { baseDelayMs: 10, maxDelayMs: 20 },
    logger: silentLogger,
  });
  const e = await outbox.send({ text: 'hello' });
  const settled = await outbox.whenSettled(e.id);
  expect(settled.status).toBe('failed');
  expect(settled.lastError?.code).toBe('unknown-deployment');
  expect(settled.lastError?.message).toMatch(/deploymentId/);
  expect(settled.attempts).toBe(1);
  await outbox.close();
});
