// Open Messaging, the other direction, against the simulator: agent replies come to our webhook
// signed with X-Hub-Signature-256 and end up in the Node transcript once; a bad signature is
// refused with 401 and records nothing; the transport posts receipts back.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutbox, type Outbox } from '../../src/outbox/createOutbox.js';
import { memoryStore } from '../../src/store/memory.js';
import { clientCredentials } from '../../src/auth/clientCredentials.js';
import { openMessagingTransport } from '../../src/transport/openMessaging.js';
import {
  openMessagingSignature,
  openMessagingWebhook,
  type OpenMessagingWebhookMessage,
} from '../../src/webhook/openMessagingWebhook.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { silentLogger } from '../../src/internal/logger.js';
import { waitFor } from '../helpers/waitFor.js';

const SECRET = 'webhook-secret';
let sim: Simulator;
let server: Server;
let hookUrl: string;
let outbox: Outbox;
let transport: ReturnType<typeof openMessagingTransport>;
const received: OpenMessagingWebhookMessage[] = [];
let failNext = 0;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, controlPort: 0 });
  transport = openMessagingTransport({
    apiUrl: sim.url,
    integrationId: 'hook-test',
    tokenProvider: clientCredentials({
      loginUrl: sim.url,
      clientId: 'sim-client',
      clientSecret: 'sim-secret',
    }),
  });
  outbox = await createOutbox({ transport, store: memoryStore(), logger: silentLogger });
  const handler = openMessagingWebhook({
    secret: SECRET,
    outbox,
    maxBodyBytes: 4096,
    onMessage: (m) => {
      if (failNext > 0) {
        failNext--;
        throw new Error('downstream not ready');
      }
      received.push(m);
    },
  });
  server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  sim.openMessaging.configureWebhook({ url: hookUrl, secret: SECRET, retryDelayMs: 20 });
});

afterAll(async () => {
  await outbox.close();
  await new Promise((r) => server.close(r));
  await sim.close();
});

const post = (body: string, signature?: string): Promise<Response> =>
  fetch(hookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(signature === undefined ? {} : { 'x-hub-signature-256': signature }),
    },
    body,
  });

describe('openMessagingWebhook against the simulator', () => {
  it('an agent reply lands in the transcript once, with onMessage called once', async () => {
    // the customer writes first, through the outbox
    const sent = await outbox.send({ text: 'hello from the customer', conversationId: 'cust-1' });
    await outbox.whenSettled(sent.id);
    const reply = await sim.openMessaging.agentMessage({
      to: { id: 'cust-1' },
      text: 'hi, agent here',
    });
    expect(reply.delivered).toBe(true);
    const lines = await outbox.transcript.list('cust-1');
    expect(lines.map((l) => [l.direction, l.text])).toEqual([
      ['Inbound', 'hello from the customer'],
      ['Outbound', 'hi, agent here'],
    ]);
    expect(lines[1]).toMatchObject({
      key: reply.id,
      serverId: reply.id,
      originatingEntity: 'Human',
    });
    expect(received.filter((m) => m.id === reply.id)).toHaveLength(1);
  });

  it('Genesys retries after a 5xx: the line is still there once, onMessage sees it once', async () => {
    failNext = 1;
    const reply = await sim.openMessaging.agentMessage({
      to: { id: 'cust-2' },
      text: 'retry me',
      originatingEntity: 'Bot',
    });
    expect(reply.delivered).toBe(true);
    const attempts = sim.openMessaging.webhookAttempts.filter((a) => a.messageId === reply.id);
    expect(attempts.map((a) => a.status)).toEqual([500, 200]);
    const lines = (await outbox.transcript.list('cust-2')).filter((l) => l.key === reply.id);
    expect(lines).toHaveLength(1);
    expect(received.filter((m) => m.id === reply.id)).toHaveLength(1);
    // the same signed delivery again (a late duplicate): 200, nothing new
    const body = JSON.stringify({ ...received.find((m) => m.id === reply.id) });
    const again = await post(body, openMessagingSignature(SECRET, body));
    expect(again.status).toBe(200);
    expect(received.filter((m) => m.id === reply.id)).toHaveLength(1);
    expect((await outbox.transcript.list('cust-2')).filter((l) => l.key === reply.id)).toHaveLength(
      1,
    );
  });

  it('a bad or missing signature is refused with 401 and nothing is recorded', async () => {
    const body = JSON.stringify({
      id: 'forged-1',
      channel: { to: { id: 'cust-3' }, time: new Date().toISOString() },
      type: 'Text',
      text: 'forged',
      direction: 'Outbound',
    });
    const before = received.length;
    expect((await post(body, openMessagingSignature('wrong-secret', body))).status).toBe(401);
    expect((await post(body)).status).toBe(401);
    // hex instead of base64 (the wrong encoding) is refused too
    const { createHmac } = await import('node:crypto');
    const hex = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    expect((await post(body, hex)).status).toBe(401);
    // the right signature over a different body
    expect(
      (await post(body.replace('forged', 'forgeD'), openMessagingSignature(SECRET, body))).status,
    ).toBe(401);
    expect(received.length).toBe(before);
    expect(await outbox.transcript.list('cust-3')).toEqual([]);
  });

  it('a body over maxBodyBytes gets 413; not JSON gets 400; GET gets 405', async () => {
    const big = JSON.stringify({ id: 'big', text: 'x'.repeat(5000) });
    expect((await post(big, openMessagingSignature(SECRET, big))).status).toBe(413);
    const bad = 'not json';
    expect((await post(bad, openMessagingSignature(SECRET, bad))).status).toBe(400);
    expect((await fetch(hookUrl)).status).toBe(405);
  });

  it('a receipt for a line is recorded as its receipt status', async () => {
    const reply = await sim.openMessaging.agentMessage({
      to: { id: 'cust-4' },
      text: 'did you get this?',
    });
    const body = JSON.stringify({
      id: reply.id,
      channel: { to: { id: 'cust-4' }, time: new Date().toISOString() },
      type: 'Receipt',
      status: 'Delivered',
      direction: 'Outbound',
    });
    expect((await post(body, openMessagingSignature(SECRET, body))).status).toBe(200);
    const line = (await outbox.transcript.list('cust-4')).find((l) => l.key === reply.id);
    expect(line?.receipt).toBe('Delivered');
  });

  it('the transport posts receipts back for agent messages the server handed on', async () => {
    await transport.postReceipt({ id: 'genesys-msg-1', to: { id: 'cust-1' }, status: 'Delivered' });
    await transport.postReceipt({
      id: 'genesys-msg-2',
      to: { id: 'cust-1' },
      status: 'Failed',
      reasons: [{ code: 'GeneralError', message: 'phone off' }],
    });
    const receipts = () => sim.control.openInbound().filter((r) => r.kind === 'receipt');
    await waitFor(() => receipts().length >= 2);
    expect(receipts().map((r) => [r.body['id'], r.body['status']])).toEqual([
      ['genesys-msg-1', 'Delivered'],
      ['genesys-msg-2', 'Failed'],
    ]);
    expect(receipts()[1]!.body).toMatchObject({
      direction: 'Outbound',
      isFinalReceipt: true,
      channel: { to: { id: 'cust-1', idType: 'Opaque' } },
    });
  });

  it('the simulator gives up after its retries when the webhook keeps failing', async () => {
    failNext = 100;
    const reply = await sim.openMessaging.agentMessage({
      to: { id: 'cust-5' },
      text: 'nobody home',
    });
    failNext = 0;
    expect(reply.delivered).toBe(false);
    expect(sim.openMessaging.webhookAttempts.filter((a) => a.messageId === reply.id)).toHaveLength(
      6,
    );
  });
});
