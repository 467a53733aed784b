// Permanent misconfigurations fail fast with their own code (issue 12, "Errors that say what to do").
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import { silentLogger } from '../../src/internal/logger.js';
import { memoryStore } from '../../src/store/memory.js';
import { guestTransport } from '../../src/transport/guest.js';
import { clientCredentials } from '../../src/auth/clientCredentials.js';
import { openMessagingTransport } from '../../src/transport/openMessaging.js';
import { httpTransport } from '../../src/transport/http.js';

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

it('after an unknown deployment the guest transport stops reconnecting; later sends fail at once too', async () => {
  let sockets = 0;
  class CountingWebSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      sockets += 1;
    }
  }
  const outbox = await createOutbox({
    transport: guestTransport({
      webSocketUrl: sim.wsUrl,
      apiBaseUrl: sim.url,
      deploymentId: 'no-such-deployment',
      WebSocket: CountingWebSocket,
      reconnect: { baseDelayMs: 10, maxDelayMs: 20 },
    }),
    store: memoryStore(),
    coordinator: false,
    retry: { baseDelayMs: 10, maxDelayMs: 20 },
    logger: silentLogger,
  });
  const first = await outbox.whenSettled((await outbox.send({ text: 'one' })).id);
  expect(first.lastError?.code).toBe('unknown-deployment');
  const after = sockets;
  // With reconnects every 10–20 ms, half a second would open a dozen sockets (it did before).
  await new Promise((r) => setTimeout(r, 500));
  const second = await outbox.whenSettled((await outbox.send({ text: 'two' })).id);
  expect(second.status).toBe('failed');
  expect(second.lastError?.code).toBe('unknown-deployment');
  expect(second.attempts).toBe(1);
  expect(sockets).toBe(after);
  await outbox.close();
});

it('a wrong client secret (invalid_client) fails the entry at once with auth-misconfigured', async () => {
  const outbox = await createOutbox({
    transport: openMessagingTransport({
      apiUrl: sim.url,
      integrationId: 'sim-integration',
      tokenProvider: clientCredentials({
        loginUrl: sim.url,
        clientId: 'sim-client',
        clientSecret: 'wrong-secret',
      }),
    }),
    store: memoryStore(),
    coordinator: false,
    retry: { baseDelayMs: 10, maxDelayMs: 20 },
    logger: silentLogger,
  });
  const e = await outbox.send({ text: 'hello' });
  const settled = await outbox.whenSettled(e.id);
  expect(settled).toMatchObject({
    status: 'failed',
    attempts: 1,
    lastError: { code: 'auth-misconfigured', status: 401 },
  });
  expect(settled.lastError?.message).toMatch(/clientSecret/);
  expect(settled.lastError?.message).not.toMatch(/wrong-secret/);
  await outbox.close();
});

it("httpTransport's default body is what the simulator's tutorial endpoint takes, guestId or not (issue 12)", async () => {
  const token = (await (
    await fetch(`${sim.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${btoa('sim-client:sim-secret')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    })
  ).json()) as { access_token: string };
  const outbox = await createOutbox({
    transport: httpTransport({
      url: `${sim.url}/api/v2/conversations/messaging/messages`,
      getAccessToken: () => token.access_token,
    }),
    store: memoryStore(),
    coordinator: false,
    logger: silentLogger,
  });
  const plain = await outbox.send({ text: 'as the README shows it' });
  const withGuest = await outbox.send({ text: 'with a guest', metadata: { guestId: 'g-1' } });
  expect(await outbox.whenSettled(plain.id)).toMatchObject({ status: 'sent', attempts: 1 });
  expect(await outbox.whenSettled(withGuest.id)).toMatchObject({ status: 'sent', attempts: 1 });
  await outbox.close();
});
