// The simulator's API root answers GET and HEAD: a connectivity probe (the demo's
// browserConnectivity({ probeUrl: `${apiBaseUrl}/` }) sends HEAD) gets a 200, not a 404 that the
// browser logs as an error on every successful probe.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSimulator } from '../../simulator/index.js';
import type { Simulator } from '../../simulator/index.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
});
afterAll(async () => {
  await sim.close();
});

it('GET / and HEAD / answer 200', async () => {
  expect((await fetch(`${sim.url}/`)).status).toBe(200);
  expect((await fetch(`${sim.url}/`, { method: 'HEAD' })).status).toBe(200);
});
