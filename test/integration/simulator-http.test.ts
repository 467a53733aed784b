import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/index.js';

const TUTORIAL = '/api/v2/conversations/messaging/messages';
const OPEN = '/api/v2/conversations/messages/integration-1/inbound/open/message';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ port: 0 });
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  await sim.control.reset();
});

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

async function getToken(): Promise<string> {
  const res = await fetch(`${sim.url}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: basic('sim-client', 'sim-secret'),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { access_token: string };
  return body.access_token;
}

let counter = 0;
function tutorialBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter += 1;
  return {
    guestId: 'guest-1',
    conversationId: 'conv-1',
    text: `hello ${counter}`,
    externalId: `ext-${counter}`,
    ...overrides,
  };
}

function postTutorial(token: string | undefined, body: unknown): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  return fetch(`${sim.url}${TUTORIAL}`, { method: 'POST', headers, body: JSON.stringify(body) });
}

function openBody(messageId: string, text = 'Hello'): Record<string, unknown> {
  return {
    channel: {
      messageId,
      time: '2024-01-01T12:00:00.000Z',
      from: { id: 'user-1', idType: 'Opaque', nickname: 'Jane' },
    },
    text,
  };
}

function postOpen(token: string, body: unknown, query = ''): Promise<Response> {
  return fetch(`${sim.url}${OPEN}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

/** genesys-api.md §3, plus `messageParams` (the Platform SDK's `ErrorBody`). */
const errorShape = (status: number, code: string) => ({
  message: expect.any(String),
  code,
  status,
  messageParams: {},
  contextId: expect.any(String),
  details: [],
  errors: [],
});

async function networkError(promise: Promise<Response>): Promise<string> {
  try {
    const res = await promise;
    return `unexpected response ${res.status}`;
  } catch (error: unknown) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return cause?.code ?? 'network-error';
  }
}

describe('OAuth client credentials', () => {
  it('issues a bearer token', async () => {
    const res = await fetch(`${sim.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: basic('sim-client', 'sim-secret'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      access_token: expect.any(String),
      token_type: 'bearer',
      expires_in: 86400,
    });
  });

  it('refuses bad credentials with 401 invalid_client', async () => {
    const res = await fetch(`${sim.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic('sim-client', 'wrong') },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('refuses another grant type with 400', async () => {
    const res = await fetch(`${sim.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic('sim-client', 'sim-secret') },
      body: 'grant_type=password',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('tokens expire after tokenTtlSeconds of the simulator clock', async () => {
    const token = await getToken();
    expect((await postTutorial(token, tutorialBody())).status).toBe(200);
    sim.control.advanceClock(86_400_000);
    const res = await postTutorial(token, tutorialBody());
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(errorShape(401, 'bad.credentials'));
  });

  it('failToken makes the next token requests fail', async () => {
    sim.control.failToken(2, 503);
    const req = () =>
      fetch(`${sim.url}/oauth/token`, {
        method: 'POST',
        headers: { authorization: basic('sim-client', 'sim-secret') },
        body: 'grant_type=client_credentials',
      });
    expect((await req()).status).toBe(503);
    expect((await req()).status).toBe(503);
    expect((await req()).status).toBe(200);
  });
});

describe('tutorial endpoint', () => {
  it('stores a message and answers 200 with a server id, plus rate-limit headers', async () => {
    const token = await getToken();
    const body = tutorialBody();
    const res = await postTutorial(token, body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      ...body,
      id: expect.any(String),
      timestamp: expect.any(String),
    });
    expect(res.headers.get('inin-ratelimit-allowed')).toBe('300');
    expect(res.headers.get('inin-ratelimit-count')).toBe('1');
    expect(res.headers.get('inin-ratelimit-reset')).toEqual(expect.any(String));
    expect(sim.control.delivered()).toEqual([
      {
        seq: 1,
        kind: 'tutorial',
        path: TUTORIAL,
        externalId: body['externalId'],
        conversationId: 'conv-1',
        text: body['text'],
        receivedAt: expect.any(Number),
        serverId: expect.any(String),
        duplicate: false,
      },
    ]);
  });

  it('401 without a token, with an unknown token, and with a revoked token', async () => {
    const missing = await postTutorial(undefined, tutorialBody());
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual(errorShape(401, 'authentication.required'));

    const unknown = await postTutorial('nope', tutorialBody());
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toEqual(errorShape(401, 'bad.credentials'));

    const token = await getToken();
    sim.control.revokeTokens();
    expect((await postTutorial(token, tutorialBody())).status).toBe(401);
    const fresh = await getToken();
    expect((await postTutorial(fresh, tutorialBody())).status).toBe(200);
    expect(sim.control.delivered()).toHaveLength(1);
  });

  it('400 bad.request for a missing or invalid field, nothing stored', async () => {
    const token = await getToken();
    for (const field of ['conversationId', 'text', 'externalId']) {
      const res = await postTutorial(token, tutorialBody({ [field]: undefined }));
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual(errorShape(400, 'bad.request'));
    }
    for (const guestId of ['', 42]) {
      const res = await postTutorial(token, tutorialBody({ guestId }));
      expect(res.status).toBe(400);
    }
    const wrongType = await postTutorial(token, tutorialBody({ text: 42 }));
    expect(wrongType.status).toBe(400);
    const notJson = await fetch(`${sim.url}${TUTORIAL}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: '{not json',
    });
    expect(notJson.status).toBe(400);
    expect(sim.control.delivered()).toEqual([]);
  });

  it('409 for an externalId already stored', async () => {
    const token = await getToken();
    const body = tutorialBody();
    expect((await postTutorial(token, body)).status).toBe(200);
    const again = await postTutorial(token, body);
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual(errorShape(409, 'conflict'));
    expect(sim.control.delivered()).toHaveLength(1);
  });
});

describe('Open Messaging inbound', () => {
  it('answers the normalized message and records the delivery', async () => {
    const token = await getToken();
    const res = await postOpen(token, openBody('m-1'), '?prefetchConversationId=true');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      id: expect.any(String),
      // The SDK's OpenMessageNormalizedMessage: channel.id and channel.to required, no direction.
      channel: {
        id: 'integration-1',
        messageId: 'm-1',
        time: '2024-01-01T12:00:00.000Z',
        from: { id: 'user-1', idType: 'Opaque', nickname: 'Jane' },
        to: { id: 'integration-1' },
        platform: 'Open',
        type: 'Private',
      },
      type: 'Text',
      text: 'Hello',
      conversationId: expect.any(String),
    });
    expect(sim.control.delivered()).toEqual([
      expect.objectContaining({
        kind: 'open',
        externalId: 'm-1',
        text: 'Hello',
        integrationId: 'integration-1',
      }),
    ]);
  });

  it('400 when channel.from.id, idType or time is missing or invalid', async () => {
    const token = await getToken();
    const cases = [
      { channel: { time: '2024-01-01T12:00:00.000Z', from: { idType: 'Opaque' } }, text: 'x' },
      {
        channel: { time: '2024-01-01T12:00:00.000Z', from: { id: 'u', idType: 'Fax' } },
        text: 'x',
      },
      { channel: { from: { id: 'u', idType: 'Email' } }, text: 'x' },
      { channel: { time: 'yesterday', from: { id: 'u', idType: 'Phone' } }, text: 'x' },
    ];
    for (const body of cases) {
      const res = await postOpen(token, body);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual(errorShape(400, 'bad.request'));
    }
    expect(sim.control.delivered()).toEqual([]);
  });

  it('stores duplicates by default (recorded as duplicates); 409 when de-duplication is on', async () => {
    const token = await getToken();
    expect((await postOpen(token, openBody('dup'))).status).toBe(200);
    expect((await postOpen(token, openBody('dup'))).status).toBe(200);
    expect(sim.control.delivered().map((d) => d.duplicate)).toEqual([false, true]);

    sim.control.setDedupeOpenMessageId(true);
    const third = await postOpen(token, openBody('dup'));
    expect(third.status).toBe(409);
    expect(await third.json()).toEqual(errorShape(409, 'conflict'));
    expect(sim.control.delivered()).toHaveLength(2);
    expect(sim.control.state().openDuplicatesRefused).toBe(1);
    sim.control.setDedupeOpenMessageId(false);
  });
});

describe('fault injection', () => {
  it('fail429 with seconds: Retry-After header and the Genesys body, then success', async () => {
    const token = await getToken();
    sim.control.fail429(1, 42);
    const res = await postTutorial(token, tutorialBody());
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('42');
    expect(await res.json()).toEqual({
      message: 'Rate limit exceeded the maximum. Retry the request in [42] seconds',
      code: 'too.many.requests.retry.after',
      status: 429,
      messageParams: {},
      contextId: expect.any(String),
      details: [],
      errors: [],
    });
    expect((await postTutorial(token, tutorialBody())).status).toBe(200);
    expect(sim.control.delivered()).toHaveLength(1);
  });

  it('fail429 with an HTTP-date', async () => {
    const token = await getToken();
    const date = new Date(Date.now() + 120_000).toUTCString();
    sim.control.fail429(1, date);
    const res = await postOpen(token, openBody('m-429'));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe(date);
    expect(await res.json()).toEqual(errorShape(429, 'too.many.requests.retry.after'));
  });

  it('fail5xx answers the given status count times', async () => {
    const token = await getToken();
    sim.control.fail5xx(2, 502);
    expect((await postTutorial(token, tutorialBody())).status).toBe(502);
    const second = await postOpen(token, openBody('m-5xx'));
    expect(second.status).toBe(502);
    expect(await second.json()).toEqual(errorShape(502, 'internal.server.error'));
    expect((await postTutorial(token, tutorialBody())).status).toBe(200);
    sim.control.fail5xx(1);
    const unavailable = await postTutorial(token, tutorialBody());
    expect(unavailable.status).toBe(503);
    expect(await unavailable.json()).toEqual(errorShape(503, 'service.unavailable'));
  });

  it('fail401Once fails one request; the token keeps working', async () => {
    const token = await getToken();
    sim.control.fail401Once();
    const res = await postTutorial(token, tutorialBody());
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(errorShape(401, 'bad.credentials'));
    expect((await postTutorial(token, tutorialBody())).status).toBe(200);
  });

  it('latency delays the answer but still delivers', async () => {
    const token = await getToken();
    sim.control.latency(50);
    expect(sim.control.state().faults.latencyMs).toBe(50);
    expect((await postTutorial(token, tutorialBody())).status).toBe(200);
    expect(sim.control.delivered()).toHaveLength(1);
  });

  it('commitThenDrop: fetch sees a network error AND the message is recorded as delivered', async () => {
    const token = await getToken();
    sim.control.commitThenDrop(1);
    const body = tutorialBody();
    expect(await networkError(postTutorial(token, body))).not.toMatch(/^unexpected/);
    expect(sim.control.delivered()).toEqual([
      expect.objectContaining({ kind: 'tutorial', externalId: body['externalId'] }),
    ]);
    // The retry of the same message is answered 409: already delivered.
    expect((await postTutorial(token, body)).status).toBe(409);
  });

  it('commitThenDrop on Open Messaging', async () => {
    const token = await getToken();
    sim.control.commitThenDrop(1);
    expect(await networkError(postOpen(token, openBody('m-drop')))).not.toMatch(/^unexpected/);
    expect(sim.control.delivered()).toEqual([
      expect.objectContaining({ kind: 'open', externalId: 'm-drop' }),
    ]);
  });

  it('attempts(): every message request with its key, repeats of a stored message included', async () => {
    const token = await getToken();
    const body = tutorialBody();
    sim.control.fail5xx(1);
    expect((await postTutorial(token, body)).status).toBe(503);
    sim.control.commitThenDrop(1);
    expect(await networkError(postTutorial(token, body))).not.toMatch(/^unexpected/);
    expect((await postTutorial(token, body)).status).toBe(409);
    sim.control.setDedupeOpenMessageId(false);
    expect((await postOpen(token, openBody('m-att'))).status).toBe(200);
    expect((await postOpen(token, openBody('m-att'))).status).toBe(200);
    const key = body['externalId'];
    expect(sim.control.attempts().map(({ at: _at, ...a }) => a)).toEqual([
      { kind: 'tutorial', key, alreadyStored: false },
      { kind: 'tutorial', key, alreadyStored: false, stored: true, answerDropped: true },
      { kind: 'tutorial', key, alreadyStored: true },
      { kind: 'open', key: 'm-att', alreadyStored: false, stored: true },
      { kind: 'open', key: 'm-att', alreadyStored: true, stored: true },
    ]);
    const state = await fetch(`${sim.controlUrl}/__control/attempts`);
    expect(((await state.json()) as unknown[]).length).toBe(5);
    await sim.control.reset();
    expect(sim.control.attempts()).toEqual([]);
  });

  it("outage('refuse') really refuses connections; the control port stays up", async () => {
    const token = await getToken();
    await sim.control.outage('refuse');
    expect(await networkError(postTutorial(token, tutorialBody()))).toBe('ECONNREFUSED');
    expect(await networkError(fetch(`${sim.url}/oauth/token`, { method: 'POST' }))).toBe(
      'ECONNREFUSED',
    );
    const state = await fetch(`${sim.controlUrl}/__control/state`);
    expect(state.status).toBe(200);
    expect(state.headers.get('access-control-allow-origin')).toBe('*');
    expect(await state.json()).toMatchObject({ faults: { outage: 'refuse' } });

    const end = await fetch(`${sim.controlUrl}/__control/outage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: false }),
    });
    expect(end.status).toBe(200);
    expect((await postTutorial(token, tutorialBody())).status).toBe(200);
    expect(sim.control.delivered()).toHaveLength(1);
  });

  it("outage('reset') resets each request; nothing is stored", async () => {
    const token = await getToken();
    await sim.control.outage('reset');
    expect(await networkError(postTutorial(token, tutorialBody()))).not.toMatch(/^unexpected/);
    // The control routes on the API port still answer.
    expect((await fetch(`${sim.url}/__control/state`)).status).toBe(200);
    await sim.control.outage(false);
    expect(sim.control.delivered()).toEqual([]);
    expect((await postTutorial(token, tutorialBody())).status).toBe(200);
  });
});

describe('control over HTTP', () => {
  const post = (name: string, body: unknown = {}) =>
    fetch(`${sim.url}/__control/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('sets faults and reports delivered messages', async () => {
    const token = await getToken();
    expect((await post('fail5xx', { count: 1, status: 500 })).status).toBe(200);
    expect((await postTutorial(token, tutorialBody())).status).toBe(500);
    expect((await post('fail429', { count: 1, retryAfter: 7 })).status).toBe(200);
    const limited = await postTutorial(token, tutorialBody());
    expect(limited.headers.get('retry-after')).toBe('7');
    expect((await post('commitThenDrop', { count: 1 })).status).toBe(200);
    await networkError(postTutorial(token, tutorialBody()));
    const delivered = await fetch(`${sim.url}/__control/delivered`);
    expect(await delivered.json()).toEqual([expect.objectContaining({ kind: 'tutorial', seq: 1 })]);
    expect((await post('reset')).status).toBe(200);
    expect(await (await fetch(`${sim.url}/__control/delivered`)).json()).toEqual([]);
  });

  it('answers CORS preflight and rejects bad arguments and unknown commands', async () => {
    const preflight = await fetch(`${sim.url}/__control/latency`, { method: 'OPTIONS' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    const bad = await post('latency', { ms: 'slow' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual(errorShape(400, 'bad.request'));
    expect((await post('nonsense')).status).toBe(404);
  });
});

describe('Platform REST fidelity', () => {
  const base = (integration = 'integration-1') =>
    `${sim.url}/api/v2/conversations/messages/${integration}/inbound/open`;
  const post = (url: string, token: string, body: unknown) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });

  it('ININ-Correlation-Id on every response (200, 404, OAuth); equal to contextId on errors', async () => {
    const token = await getToken();
    const ok = await postOpen(token, openBody('c-1'));
    expect(ok.headers.get('inin-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    const missing = await fetch(`${sim.url}/nope`);
    const body = (await missing.json()) as { contextId: string };
    expect(missing.headers.get('inin-correlation-id')).toBe(body.contextId);
    const oauth = await fetch(`${sim.url}/oauth/token`, { method: 'POST' });
    expect(oauth.headers.get('inin-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(ok.headers.get('inin-correlation-id')).not.toBe(
      oauth.headers.get('inin-correlation-id'),
    );
  });

  it('Open Messaging keeps the message metadata (a string map); a non-string value → 400', async () => {
    const token = await getToken();
    const res = await postOpen(token, { ...openBody('md-1'), metadata: { orderId: '42' } });
    expect(await res.json()).toMatchObject({ metadata: { orderId: '42' } });
    const bad = await postOpen(token, { ...openBody('md-2'), metadata: { orderId: 42 } });
    expect(bad.status).toBe(400);
  });

  it('receipt: OpenInboundNormalizedReceipt → OpenReceiptNormalizedMessage, recorded; 400 without id/status/channel.to', async () => {
    const token = await getToken();
    const receipt = {
      id: 'outbound-1',
      channel: { to: { id: 'user-1' }, time: '2024-01-01T12:00:01.000Z' },
      status: 'Delivered',
      isFinalReceipt: true,
    };
    const res = await post(`${base()}/receipt`, token, receipt);
    expect(res.status).toBe(200);
    expect(res.headers.get('inin-ratelimit-allowed')).toBe('300');
    expect(await res.json()).toEqual({
      id: 'outbound-1',
      channel: {
        id: 'integration-1',
        platform: 'Open',
        type: 'Private',
        to: { id: 'user-1' },
        from: { id: 'integration-1', idType: 'Opaque' },
        time: '2024-01-01T12:00:01.000Z',
      },
      type: 'Receipt',
      status: 'Delivered',
      isFinalReceipt: true,
      direction: 'Outbound',
    });
    for (const broken of [
      { ...receipt, id: undefined },
      { ...receipt, status: '' },
      { ...receipt, channel: { time: '2024-01-01T12:00:01.000Z' } },
    ]) {
      const r = await post(`${base()}/receipt`, token, broken);
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual(errorShape(400, 'bad.request'));
    }
    expect(sim.control.openInbound()).toEqual([
      {
        kind: 'receipt',
        integrationId: 'integration-1',
        body: receipt,
        receivedAt: expect.any(Number),
      },
    ]);
    expect(sim.control.delivered()).toEqual([]);
  });

  it('event: OpenInboundNormalizedEvent (Typing) → OpenEventNormalizedMessage; 400 without events or from', async () => {
    const token = await getToken();
    const event = {
      channel: { from: { id: 'user-1', idType: 'Opaque' }, time: '2024-01-01T12:00:02.000Z' },
      events: [{ eventType: 'Typing', typing: { type: 'On' } }],
    };
    const res = await post(`${base()}/event`, token, event);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      channel: {
        id: 'integration-1',
        platform: 'Open',
        type: 'Private',
        from: { id: 'user-1', idType: 'Opaque' },
        to: { id: 'integration-1' },
        time: '2024-01-01T12:00:02.000Z',
      },
      type: 'Event',
      events: [{ eventType: 'Typing', typing: { type: 'On' } }],
    });
    expect((await post(`${base()}/event`, token, { ...event, events: [] })).status).toBe(400);
    expect(
      (await post(`${base()}/event`, token, { ...event, channel: { time: event.channel.time } }))
        .status,
    ).toBe(400);
    expect(sim.control.openInbound().map((r) => r.kind)).toEqual(['event']);
  });

  it('agentless: SendAgentlessOutboundMessageRequest → 202 SendAgentlessOutboundMessageResponse; 400 without fromAddress; 401 without a token', async () => {
    const token = await getToken();
    const url = `${sim.url}/api/v2/conversations/messages/agentless`;
    const request = {
      fromAddress: '+13175550000',
      toAddress: '+13175550001',
      toAddressMessengerType: 'sms',
      textBody: 'Your order shipped',
    };
    const res = await post(url, token, request);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      id: expect.any(String),
      conversationId: expect.any(String),
      fromAddress: '+13175550000',
      toAddress: '+13175550001',
      messengerType: 'sms',
      textBody: 'Your order shipped',
      timestamp: expect.stringMatching(/Z$/),
    });
    expect((await post(url, token, { ...request, fromAddress: undefined })).status).toBe(400);
    expect((await fetch(url, { method: 'POST', body: '{}' })).status).toBe(401);
    expect(sim.control.agentless().map((r) => r.body)).toEqual([request]);
  });

  it('deployment configuration: config.json on the path Genesys SDK builds, with the current settings', async () => {
    const url = `${sim.url}/webdeployments/v1/deployments/sim-deployment/config.json`;
    const first = (await (await fetch(url)).json()) as Record<string, unknown>;
    expect(first).toMatchObject({
      id: 'sim-deployment',
      apiEndpoint: sim.url,
      status: 'Active',
      auth: { enabled: false },
      messenger: {
        enabled: true,
        apps: {
          conversations: {
            messagingEndpoint: sim.wsUrl,
            conversationDisconnect: { enabled: false, type: 'Send' },
            conversationClear: { enabled: false },
            autoStart: { enabled: false },
          },
        },
      },
    });
    sim.control.setDeploymentSettings({
      conversationDisconnect: { enabled: true, type: 'ReadOnly' },
    });
    const second = (await (await fetch(url)).json()) as {
      messenger: { apps: { conversations: { conversationDisconnect: unknown } } };
    };
    expect(second.messenger.apps.conversations.conversationDisconnect).toEqual({
      enabled: true,
      type: 'ReadOnly',
    });
    const unknown = await fetch(`${sim.url}/webdeployments/v1/deployments/nope/config.json`);
    expect(unknown.status).toBe(404);
  });
});
