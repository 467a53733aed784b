/**
 * Genesys' official Platform SDK (`purecloud-platform-client-v2`, unchanged) as a client of the
 * simulator: `setGateway` points its login and API base URLs at the simulator's loopback address.
 */
import { randomUUID } from 'node:crypto';
import platformClient from 'purecloud-platform-client-v2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startSimulator, type Simulator } from '../../simulator/index.js';

const INTEGRATION = 'integration-sdk';

let sim: Simulator;
const client = platformClient.ApiClient.instance;
const conversations = new platformClient.ConversationsApi();
const webMessaging = new platformClient.WebMessagingApi();

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
  client.setGateway({ host: '127.0.0.1', protocol: 'http', port: sim.port });
});
afterAll(async () => {
  client.setReturnExtendedResponses(false);
  await sim.close();
});
afterEach(async () => {
  client.setReturnExtendedResponses(false);
  await sim.control.reset();
});

/** What the SDK rejects with when `setReturnExtendedResponses(true)`: status, headers, body. */
interface ExtendedError {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

async function rejection(promise: Promise<unknown>): Promise<ExtendedError> {
  try {
    await promise;
  } catch (error: unknown) {
    return error as ExtendedError;
  }
  throw new Error('the SDK call resolved; a rejection was expected');
}

async function login(): Promise<string> {
  const auth = await client.loginClientCredentialsGrant('sim-client', 'sim-secret');
  return auth.accessToken;
}

const inbound = (messageId: string, text = 'Hello from the SDK') => ({
  channel: {
    messageId,
    time: '2024-01-01T12:00:00.000Z',
    from: { id: 'user-1', idType: 'Opaque', nickname: 'Jane' },
  },
  text,
  metadata: { orderId: '42' },
});

describe('official Platform SDK against the simulator', () => {
  it('client-credentials login through setGateway; a wrong secret is rejected', async () => {
    const token = await login();
    expect(token).toMatch(/^sim-at-/);
    // The login rejects with the HTTP client's error (`response.status` / `response.data`).
    const failed = (await rejection(
      client.loginClientCredentialsGrant('sim-client', 'nope'),
    )) as unknown as { response: { status: number; data: unknown } };
    expect(failed.response.status).toBe(401);
    expect(failed.response.data).toMatchObject({ error: 'invalid_client' });
  });

  it('Open Messaging inbound message, receipt and event through ConversationsApi', async () => {
    await login();
    const message = await conversations.postConversationsMessageInboundOpenMessage(
      INTEGRATION,
      inbound('sdk-1'),
      { prefetchConversationId: true },
    );
    expect(message).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      channel: {
        id: INTEGRATION,
        platform: 'Open',
        type: 'Private',
        messageId: 'sdk-1',
        time: '2024-01-01T12:00:00.000Z',
        from: { id: 'user-1', idType: 'Opaque', nickname: 'Jane' },
        to: { id: INTEGRATION },
      },
      type: 'Text',
      text: 'Hello from the SDK',
      metadata: { orderId: '42' },
      conversationId: expect.any(String),
    });
    expect(sim.control.delivered()).toEqual([
      expect.objectContaining({ kind: 'open', externalId: 'sdk-1', integrationId: INTEGRATION }),
    ]);

    const receipt = await conversations.postConversationsMessageInboundOpenReceipt(INTEGRATION, {
      id: 'outbound-7',
      channel: { to: { id: 'user-1' }, time: '2024-01-01T12:00:05.000Z' },
      status: 'Delivered',
      isFinalReceipt: true,
    });
    expect(receipt).toMatchObject({
      id: 'outbound-7',
      type: 'Receipt',
      status: 'Delivered',
      direction: 'Outbound',
      channel: { id: INTEGRATION, to: { id: 'user-1' } },
    });

    const event = await conversations.postConversationsMessageInboundOpenEvent(INTEGRATION, {
      channel: { from: { id: 'user-1', idType: 'Opaque' }, time: '2024-01-01T12:00:06.000Z' },
      events: [{ eventType: 'Typing' }],
    });
    expect(event).toMatchObject({ type: 'Event', events: [{ eventType: 'Typing' }] });
    expect(sim.control.openInbound().map((r) => r.kind)).toEqual(['receipt', 'event']);
  });

  it('agentless outbound message through ConversationsApi', async () => {
    await login();
    const sent = await conversations.postConversationsMessagesAgentless({
      fromAddress: '+13175550000',
      toAddress: '+13175550001',
      toAddressMessengerType: 'sms',
      textBody: 'Your order shipped',
    });
    expect(sent).toMatchObject({
      id: expect.any(String),
      conversationId: expect.any(String),
      messengerType: 'sms',
      textBody: 'Your order shipped',
    });
    expect(sim.control.agentless()).toHaveLength(1);
  });

  it('web messaging history through WebMessagingApi with a guest JWT as the access token', async () => {
    const token = randomUUID();
    const ws = new WebSocket(`${sim.wsUrl}/v1?deploymentId=sim-deployment`);
    const frames: Array<Record<string, unknown>> = [];
    const waiters: Array<() => void> = [];
    ws.on('message', (data) => {
      frames.push(JSON.parse(String(data)) as Record<string, unknown>);
      for (const w of waiters.splice(0)) w();
    });
    const next = async (): Promise<Record<string, unknown>> => {
      while (frames.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
      return frames.shift() as Record<string, unknown>;
    };
    await new Promise((resolve) => ws.once('open', resolve));
    try {
      ws.send(
        JSON.stringify({ action: 'configureSession', deploymentId: 'sim-deployment', token }),
      );
      await next();
      ws.send(
        JSON.stringify({
          action: 'onMessage',
          token,
          tracingId: 'sdk-h1',
          message: { type: 'Text', text: 'guest says hi' },
        }),
      );
      await next();
      sim.control.agentMessage(token, 'agent says hi');
      await next();
      ws.send(JSON.stringify({ action: 'getJwt', token, tracingId: 'jwt' }));
      const jwt = ((await next()).body as { jwt: string }).jwt;

      client.setAccessToken(jwt);
      const page = await webMessaging.getWebmessagingMessages({ pageSize: 10, pageNumber: 1 });
      expect(page).toMatchObject({ pageSize: 10, pageNumber: 1, total: 2, pageCount: 1 });
      expect(page.entities?.map((e) => [e.direction, e.text, e.originatingEntity])).toEqual([
        ['Outbound', 'agent says hi', 'Human'],
        ['Inbound', 'guest says hi', 'Human'],
      ]);

      client.setReturnExtendedResponses(true);
      const extended = (await webMessaging.getWebmessagingMessages()) as unknown as {
        status: number;
        headers: Record<string, string>;
      };
      expect(extended.status).toBe(200);
      expect(extended.headers['inin-ratelimit-allowed']).toBe('300');
      expect(extended.headers['inin-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      ws.terminate();
    }
  });

  it('error shapes the SDK hands back: 400, 401, 429, 503 and 500 with the Platform body and headers', async () => {
    await login();
    client.setReturnExtendedResponses(true);
    const errorBody = (status: number, code: string) => ({
      message: expect.any(String),
      code,
      status,
      messageParams: {},
      contextId: expect.any(String),
      details: [],
      errors: [],
    });
    const send = (messageId: string) =>
      conversations.postConversationsMessageInboundOpenMessage(INTEGRATION, inbound(messageId));

    const bad = await rejection(
      conversations.postConversationsMessageInboundOpenMessage(INTEGRATION, {
        channel: { time: '2024-01-01T12:00:00.000Z', from: { id: 'u', idType: 'Fax' } },
        text: 'x',
      }),
    );
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual(errorBody(400, 'bad.request'));
    expect(bad.headers['inin-correlation-id']).toBe(bad.body['contextId']);

    sim.control.fail401Once();
    const unauthorized = await rejection(send('e-401'));
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.body).toEqual(errorBody(401, 'bad.credentials'));

    sim.control.fail429(1, 7);
    const limited = await rejection(send('e-429'));
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('7');
    expect(limited.body).toEqual({
      ...errorBody(429, 'too.many.requests.retry.after'),
      message: 'Rate limit exceeded the maximum. Retry the request in [7] seconds',
    });

    sim.control.fail5xx(1, 503);
    const unavailable = await rejection(send('e-503'));
    expect(unavailable.status).toBe(503);
    expect(unavailable.body).toEqual(errorBody(503, 'service.unavailable'));

    sim.control.fail5xx(1, 500);
    const failed = await rejection(send('e-500'));
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual(errorBody(500, 'internal.server.error'));

    sim.control.revokeTokens();
    const revoked = await rejection(send('e-revoked'));
    expect(revoked.status).toBe(401);
    expect(sim.control.delivered()).toEqual([]);

    // After the faults, the same unchanged client logs in again and is served.
    await login();
    const ok = (await send('e-ok')) as unknown as { status: number; body: { channel: unknown } };
    expect(ok.status).toBe(200);
    expect(sim.control.delivered().map((d) => d.externalId)).toEqual(['e-ok']);
  });
});
