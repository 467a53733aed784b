import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startSimulator, type Simulator } from '../../simulator/index.js';

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

type Frame = Record<string, unknown> & { type: string; class: string; code: number; body: unknown };

/** A minimal guest client: a frame queue over a `ws` socket. */
class Guest {
  private readonly frames: Frame[] = [];
  private waiters: Array<() => void> = [];
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
    void this.closed.then(() => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(deploymentId = 'sim-deployment'): Promise<Guest> {
    const ws = new WebSocket(`${sim.wsUrl}/v1?deploymentId=${deploymentId}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new Guest(ws);
  }

  send(request: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(request));
  }

  /** The next frame; rejects when the socket closes first. */
  async next(): Promise<Frame> {
    for (;;) {
      const frame = this.frames.shift();
      if (frame !== undefined) return frame;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('socket closed');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async nextN(n: number): Promise<Frame[]> {
    const out: Frame[] = [];
    for (let i = 0; i < n; i += 1) out.push(await this.next());
    return out;
  }

  pending(): number {
    return this.frames.length;
  }

  async configure(token: string, extra: Record<string, unknown> = {}): Promise<Frame> {
    this.send({ action: 'configureSession', deploymentId: 'sim-deployment', token, ...extra });
    return this.next();
  }

  async sendText(token: string, text: string, tracingId: string = randomUUID()): Promise<Frame> {
    this.send({ action: 'onMessage', token, tracingId, message: { type: 'Text', text } });
    return this.next();
  }

  close(): void {
    this.ws.close();
  }
}

const opened: Guest[] = [];
async function guest(): Promise<Guest> {
  const g = await Guest.connect();
  opened.push(g);
  return g;
}
afterEach(() => {
  for (const g of opened.splice(0)) g.ws.terminate();
});

/** A guest socket with a configured session of a new token. */
async function configuredGuest(): Promise<{ token: string; g: Guest }> {
  const token = randomUUID();
  const g = await guest();
  await g.configure(token);
  return { token, g };
}

/** MG `Response.configureSuccess` plus `durationSeconds` / `expirationDate` (MG `SessionResponse.kt`). */
const sessionResponse = (newSession: boolean, readOnly = false, connected = true) => ({
  type: 'response',
  class: 'SessionResponse',
  code: 200,
  body: {
    connected,
    newSession,
    readOnly,
    maxCustomDataBytes: 2048,
    clearedExistingSession: false,
    durationSeconds: 259200,
    expirationDate: expect.any(Number),
  },
});

/** MG `Response.structuredMessageWithEvents(presenceDisconnect, metadata = {readOnly})`. */
const disconnectEvent = (readOnly: 'true' | 'false') => ({
  type: 'message',
  class: 'StructuredMessage',
  code: 200,
  body: {
    direction: 'Outbound',
    id: expect.any(String),
    type: 'Event',
    channel: { time: expect.any(String), messageId: expect.any(String) },
    metadata: { correlationId: expect.any(String), readOnly },
    events: [{ eventType: 'Presence', presence: { type: 'Disconnect' } }],
  },
});

const echoOf = (text: string, tracingId: string) => ({
  type: 'message',
  class: 'StructuredMessage',
  code: 200,
  tracingId,
  body: {
    text,
    direction: 'Inbound',
    id: expect.stringMatching(/^[0-9a-f]{32}$/),
    type: 'Text',
    channel: {
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      messageId: expect.any(String),
    },
    metadata: { correlationId: expect.any(String) },
  },
});

/** OVO `outboundTextStructuredMessage` (captured): `channel: {time, type: "Private"}`. */
const outbound = (text: string, originatingEntity: 'Human' | 'Bot') => ({
  type: 'message',
  class: 'StructuredMessage',
  code: 200,
  body: {
    text,
    direction: 'Outbound',
    id: expect.any(String),
    type: 'Text',
    channel: { time: expect.any(String), type: 'Private' },
    originatingEntity,
    metadata: { correlationId: expect.any(String) },
  },
});

const error = (code: number, tracingId?: string) => ({
  type: 'response',
  class: 'string',
  code,
  body: expect.any(String),
  ...(tracingId === undefined ? {} : { tracingId }),
});

async function jwtFor(g: Guest, token: string): Promise<string> {
  g.send({ action: 'getJwt', token, tracingId: 'jwt-1' });
  const frame = await g.next();
  expect(frame).toEqual({
    type: 'response',
    class: 'JwtResponse',
    code: 200,
    tracingId: 'jwt-1',
    body: { jwt: expect.any(String), exp: expect.any(Number) },
  });
  return (frame.body as { jwt: string }).jwt;
}

async function history(jwt: string, query = ''): Promise<Response> {
  return fetch(`${sim.url}/api/v2/webmessaging/messages${query}`, {
    headers: { authorization: `Bearer ${jwt}` },
  });
}

describe('configureSession', () => {
  it('new session, then resume with the same token keeps history', async () => {
    const token = randomUUID();
    const a = await guest();
    a.send({ action: 'configureSession', deploymentId: 'sim-deployment', token, tracingId: 't-1' });
    expect(await a.next()).toEqual({ ...sessionResponse(true), tracingId: 't-1' });
    const tracingId = randomUUID();
    expect(await a.sendText(token, 'Hello', tracingId)).toEqual(echoOf('Hello', tracingId));
    a.close();
    await a.closed;

    const b = await guest();
    expect(await b.configure(token)).toEqual(sessionResponse(false));
    const [session] = sim.control.sessions().filter((s) => s.token === token);
    expect(session?.messages.map((m) => m.text)).toEqual(['Hello']);
    expect(session?.connections).toBe(1);
  });

  it('unknown deployment → 400 "Deployment not found"', async () => {
    const g = await guest();
    g.send({
      action: 'configureSession',
      deploymentId: 'nope',
      token: randomUUID(),
      tracingId: 'x',
    });
    expect(await g.next()).toEqual({
      type: 'response',
      class: 'string',
      code: 400,
      body: 'Deployment not found',
      tracingId: 'x',
    });
  });

  it('a token over 2048 characters → error; missing token → 4020', async () => {
    const g = await guest();
    expect(await g.configure('x'.repeat(2049))).toEqual(error(400));
    g.send({ action: 'configureSession', deploymentId: 'sim-deployment' });
    expect(await g.next()).toEqual(error(4020));
    expect(await g.configure('y'.repeat(2048))).toEqual(sessionResponse(true));
  });

  it('agent disconnect on a ReadOnly deployment → Disconnect with readOnly "true"; startNew starts a fresh conversation', async () => {
    sim.control.setDeploymentSettings({
      conversationDisconnect: { enabled: true, type: 'ReadOnly' },
    });
    const { token, g } = await configuredGuest();
    const firstConversation = sim.control.sessions().find((s) => s.token === token)?.conversationId;
    sim.control.agentDisconnect(token);
    expect(await g.next()).toEqual(disconnectEvent('true'));
    expect(await g.sendText(token, 'anyone?', 'tr-ro')).toEqual(error(400, 'tr-ro'));

    const again = await guest();
    expect(await again.configure(token)).toEqual(sessionResponse(false, true));
    expect(await again.configure(token, { startNew: true })).toEqual(sessionResponse(true, false));
    const session = sim.control.sessions().find((s) => s.token === token);
    expect(session?.conversationId).not.toBe(firstConversation);
    expect(session?.previousConversations.map((c) => c.conversationId)).toEqual([
      firstConversation,
    ]);
    expect(await again.sendText(token, 'new chat', 'tr-new')).toEqual(echoOf('new chat', 'tr-new'));
  });

  it('agent disconnect by default (conversationDisconnect.type Send) → readOnly "false": the guest may keep writing', async () => {
    expect(sim.control.deploymentSettings('sim-deployment').conversationDisconnect).toEqual({
      enabled: false,
      type: 'Send',
    });
    const { token, g } = await configuredGuest();
    sim.control.agentDisconnect(token);
    expect(await g.next()).toEqual(disconnectEvent('false'));
    expect(await g.sendText(token, 'still here', 'tr-send')).toEqual(
      echoOf('still here', 'tr-send'),
    );
    const again = await guest();
    expect(await again.configure(token)).toEqual(sessionResponse(false, false));
    expect(sim.control.sessions().find((s) => s.token === token)?.readOnly).toBe(false);
  });

  it('agentDisconnect({readOnly}) overrides the deployment; settings are per deployment and reset() restores them', async () => {
    const local = await startSimulator({
      deployments: ['a', 'b'],
      deploymentSettings: { b: { conversationDisconnect: { type: 'ReadOnly' } } },
    });
    try {
      expect(local.control.deploymentSettings('a').conversationDisconnect.type).toBe('Send');
      expect(local.control.deploymentSettings('b').conversationDisconnect.type).toBe('ReadOnly');
      local.control.setDeploymentSettings({ conversationDisconnect: { type: 'ReadOnly' } }, 'a');
      expect(local.control.deploymentSettings('a').conversationDisconnect.type).toBe('ReadOnly');
      await local.control.reset();
      expect(local.control.deploymentSettings('a').conversationDisconnect.type).toBe('Send');
      expect(() =>
        local.control.setDeploymentSettings({
          conversationDisconnect: { type: 'Sometimes' as 'Send' },
        }),
      ).toThrow(TypeError);
      expect(() => local.control.setDeploymentSettings({}, 'nope')).toThrow(RangeError);
    } finally {
      await local.close();
    }
    const { token, g } = await configuredGuest();
    sim.control.agentDisconnect(token, { readOnly: true });
    expect(await g.next()).toEqual(disconnectEvent('true'));
    expect(sim.control.sessions().find((s) => s.token === token)?.readOnly).toBe(true);
  });
});

describe('onMessage', () => {
  it('echo carries tracingId, server id, time, messageId, correlationId; recorded as delivered', async () => {
    const { token, g } = await configuredGuest();
    g.send({
      action: 'onMessage',
      token,
      tracingId: 'client-1',
      message: {
        type: 'Text',
        text: 'Hello',
        channel: { metadata: { customAttributes: { k: 'v' } } },
      },
    });
    expect(await g.next()).toEqual(echoOf('Hello', 'client-1'));
    expect(sim.control.delivered()).toEqual([
      {
        seq: 1,
        kind: 'guest',
        path: '/v1',
        externalId: 'client-1',
        conversationId: expect.any(String),
        text: 'Hello',
        receivedAt: expect.any(Number),
        serverId: expect.any(String),
        duplicate: false,
        sessionToken: token,
      },
    ]);
    expect(sim.control.sessions().find((s) => s.token === token)?.messages).toEqual([
      expect.objectContaining({
        text: 'Hello',
        customAttributes: { k: 'v' },
        tracingId: 'client-1',
      }),
    ]);
  });

  it('custom attributes under a top-level channel are accepted; over 2048 bytes → 4013', async () => {
    const { token, g } = await configuredGuest();
    g.send({
      action: 'onMessage',
      token,
      tracingId: 'top',
      message: { type: 'Text', text: 'a' },
      channel: { metadata: { customAttributes: { plan: 'gold' } } },
    });
    expect(await g.next()).toEqual(echoOf('a', 'top'));
    sim.control.advanceClock(1000);
    g.send({
      action: 'onMessage',
      token,
      tracingId: 'big',
      message: {
        type: 'Text',
        text: 'b',
        channel: { metadata: { customAttributes: { blob: 'x'.repeat(2048) } } },
      },
    });
    expect(await g.next()).toEqual({
      type: 'response',
      class: 'string',
      code: 4013,
      body: 'Custom Attributes in channel metadata is larger than 2048 bytes',
      tracingId: 'big',
    });
    expect(sim.control.delivered().map((d) => d.externalId)).toEqual(['top']);
  });

  it('text over the limit → 4011; missing text → 4020; nothing stored', async () => {
    const { token, g } = await configuredGuest();
    expect(await g.sendText(token, 'x'.repeat(4001), 'long')).toEqual(error(4011, 'long'));
    sim.control.advanceClock(1000);
    g.send({ action: 'onMessage', token, tracingId: 'empty', message: { type: 'Text' } });
    expect(await g.next()).toEqual(error(4020, 'empty'));
    g.send({ action: 'onMessage', token, tracingId: 'nomsg' });
    sim.control.advanceClock(1000);
    expect(await g.next()).toEqual(error(4020, 'nomsg'));
    expect(sim.control.delivered()).toEqual([]);
  });

  it('before configureSession → 4007 session not found', async () => {
    const g = await guest();
    expect(await g.sendText(randomUUID(), 'hi', 'early')).toEqual(error(4007, 'early'));
  });

  it('expireSession pushes SessionExpiredEvent; onMessage → 4006 until configureSession', async () => {
    const { token, g } = await configuredGuest();
    sim.control.expireSession(token);
    // MG Response.sessionExpiredEvent
    expect(await g.next()).toEqual({
      type: 'response',
      class: 'SessionExpiredEvent',
      code: 200,
      body: {},
    });
    expect(await g.sendText(token, 'late', 'exp')).toEqual(error(4006, 'exp'));
    expect(await g.configure(token)).toEqual(sessionResponse(true));
    expect(await g.sendText(token, 'again', 'exp2')).toEqual(echoOf('again', 'exp2'));
  });

  it('rate limit: the third onMessage within a second gets the exact 429 frame and is not stored', async () => {
    const { token, g } = await configuredGuest();
    for (const t of ['r1', 'r2', 'r3']) {
      g.send({ action: 'onMessage', token, tracingId: t, message: { type: 'Text', text: t } });
    }
    const frames = await g.nextN(3);
    expect(frames[0]).toEqual(echoOf('r1', 'r1'));
    expect(frames[1]).toEqual(echoOf('r2', 'r2'));
    expect(frames[2]).toEqual({
      type: 'response',
      class: 'TooManyRequestsErrorMessage',
      code: 429,
      tracingId: 'r3',
      body: {
        retryAfter: 1,
        errorCode: 4029,
        errorMessage: 'Message rate too high for this session',
      },
    });
    expect(sim.control.delivered().map((d) => d.externalId)).toEqual(['r1', 'r2']);
    sim.control.advanceClock(1000);
    expect(await g.sendText(token, 'r3', 'r3')).toEqual(echoOf('r3', 'r3'));
  });

  it('dedupeTracingId: a repeated tracingId gets the original echo, stored once', async () => {
    sim.control.setDedupeTracingId(true);
    const { token, g } = await configuredGuest();
    const first = await g.sendText(token, 'once', 'same');
    sim.control.advanceClock(1000);
    const second = await g.sendText(token, 'once', 'same');
    expect(second).toEqual(first);
    expect(sim.control.delivered()).toHaveLength(1);
  });

  it('without dedupe a repeated tracingId is stored twice and recorded as a duplicate', async () => {
    const { token, g } = await configuredGuest();
    await g.sendText(token, 'twice', 'same');
    sim.control.advanceClock(1000);
    await g.sendText(token, 'twice', 'same');
    expect(sim.control.delivered().map((d) => d.duplicate)).toEqual([false, true]);
    expect(sim.control.sessions().find((s) => s.token === token)?.messages).toHaveLength(2);
  });

  it.each([
    [4006, 'Session has expired.'],
    [4007, 'Session not found.'],
    [4011, 'Message exceeded the maximum length.'],
    [4013, 'Custom Attributes in channel metadata is larger than 2048 bytes'],
    [4020, 'Missing parameter.'],
    [4001, 'Request failed.'],
    [5000, 'Request failed.'],
    [400, 'Request failed.'],
    [403, 'Session authentication failed.'],
  ])('failNextOnMessage(%i) answers that error once, nothing stored', async (code, body) => {
    const { token, g } = await configuredGuest();
    sim.control.failNextOnMessage(code);
    expect(await g.sendText(token, 'hi', 'f1')).toEqual({
      type: 'response',
      class: 'string',
      code,
      body,
      tracingId: 'f1',
    });
    expect(sim.control.delivered()).toEqual([]);
    expect(await g.sendText(token, 'hi', 'f2')).toEqual(echoOf('hi', 'f2'));
  });

  it('failNextOnMessage(429) answers the rate-limit frame; a custom body is passed through', async () => {
    const { token, g } = await configuredGuest();
    sim.control.failNextOnMessage(429, {
      retryAfter: 7,
      errorCode: 4029,
      errorMessage: 'slow down',
    });
    expect(await g.sendText(token, 'hi', 'f429')).toEqual({
      type: 'response',
      class: 'TooManyRequestsErrorMessage',
      code: 429,
      tracingId: 'f429',
      body: { retryAfter: 7, errorCode: 4029, errorMessage: 'slow down' },
    });
    sim.control.failNextOnMessage(5000, 'custom text');
    expect(await g.sendText(token, 'hi', 'f5000')).toEqual({
      type: 'response',
      class: 'string',
      code: 5000,
      body: 'custom text',
      tracingId: 'f5000',
    });
  });
});

describe('echo, getJwt, closeSession', () => {
  it('echo → response StructuredMessage ping with session duration metadata', async () => {
    const { token, g } = await configuredGuest();
    // MG EchoRequest: tracingId is the health-check id, message {type:"Text", text:"ping"}.
    const hc = 'SGVhbHRoQ2hlY2tNZXNzYWdlSWQ=';
    g.send({ action: 'echo', token, tracingId: hc, message: { type: 'Text', text: 'ping' } });
    expect(await g.next()).toEqual({
      type: 'response',
      class: 'StructuredMessage',
      code: 200,
      tracingId: hc,
      body: {
        text: 'ping',
        type: 'Text',
        direction: 'Inbound',
        id: expect.any(String),
        // MG Response.healthCheckResponseWithSessionDuration: string values, nothing else.
        metadata: {
          durationSeconds: '259200',
          expirationDate: expect.stringMatching(/^\d{10}$/),
        },
      },
    });
    expect(sim.control.delivered()).toEqual([]);
  });

  it('closeSession: the asking socket gets SessionResponse{connected:false, readOnly:true} and stays open; the others get ConnectionClosedEvent and close', async () => {
    const token = randomUUID();
    const asking = await guest();
    const other = await guest();
    await asking.configure(token);
    await other.configure(token);
    asking.send({ action: 'closeSession', token, closeAllConnections: true, tracingId: 'cs-1' });
    expect(await asking.next()).toEqual({
      ...sessionResponse(true, true, false),
      tracingId: 'cs-1',
    });
    // MG Response.connectionClosedEventNoReason
    expect(await other.next()).toEqual({
      type: 'message',
      class: 'ConnectionClosedEvent',
      code: 200,
      body: {},
    });
    expect(await other.closed).toBe(1000);
    expect(asking.ws.readyState).toBe(WebSocket.OPEN);
    expect(asking.pending()).toBe(0);
    // The asking client then starts a new chat on the same socket (MG handleSessionResponse).
    expect(await asking.configure(token, { startNew: true })).toEqual(sessionResponse(true));
    expect(await asking.sendText(token, 'fresh', 'cs-2')).toEqual(echoOf('fresh', 'cs-2'));
  });

  it('closeSession without closeAllConnections leaves the other sockets alone; the conversation is read-only', async () => {
    const token = randomUUID();
    const asking = await guest();
    const other = await guest();
    await asking.configure(token);
    await other.configure(token);
    asking.send({ action: 'closeSession', token });
    expect(await asking.next()).toEqual(sessionResponse(true, true, false));
    expect(await other.sendText(token, 'late', 'cs-3')).toEqual(error(400, 'cs-3'));
    expect(other.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('connectionClosed pushes ConnectionClosedEvent with the reason to every socket and closes them; the session stays', async () => {
    const token = randomUUID();
    const a = await guest();
    const b = await guest();
    await a.configure(token);
    await b.configure(token);
    sim.control.connectionClosed(token, { reason: 'signedIn' });
    // MG Response.connectionClosedEventReasonSignIn
    const signedIn = {
      type: 'message',
      class: 'ConnectionClosedEvent',
      code: 200,
      body: { reason: 'signedIn' },
    };
    expect(await a.next()).toEqual(signedIn);
    expect(await b.next()).toEqual(signedIn);
    expect(await a.closed).toBe(1000);
    expect(await b.closed).toBe(1000);
    const c = await guest();
    expect(await c.configure(token)).toEqual(sessionResponse(false));
    sim.control.connectionClosed(token);
    expect(await c.next()).toEqual({ ...signedIn, body: {} });
  });
});

describe('agent messages', () => {
  it('delivered live to a connected guest, Human or Bot', async () => {
    const { token, g } = await configuredGuest();
    sim.control.agentMessage(token, 'Hi, how can I help?');
    expect(await g.next()).toEqual(outbound('Hi, how can I help?', 'Human'));
    const conversationId = sim.control.sessions().find((s) => s.token === token)!.conversationId;
    sim.control.agentMessage(conversationId, 'beep', { originatingEntity: 'Bot' });
    expect(await g.next()).toEqual(outbound('beep', 'Bot'));
  });

  it('held while the guest is away, delivered after configureSession, always in history', async () => {
    const token = randomUUID();
    const a = await guest();
    await a.configure(token);
    a.close();
    await a.closed;
    sim.control.agentMessage(token, 'are you there?');
    sim.control.agentMessage(token, 'still here');
    expect(sim.control.sessions().find((s) => s.token === token)?.heldFrames).toBe(2);

    const b = await guest();
    const frames = [await b.configure(token), ...(await b.nextN(2))];
    expect(frames).toEqual([
      sessionResponse(false),
      outbound('are you there?', 'Human'),
      outbound('still here', 'Human'),
    ]);
    const res = await history(await jwtFor(b, token));
    const body = (await res.json()) as { entities: Array<{ text: string }> };
    expect(body.entities.map((e) => e.text)).toEqual(['still here', 'are you there?']);
  });

  it('the bot answers each guest message', async () => {
    const botSim = await startSimulator({ bot: true, botDelayMs: 1 });
    try {
      const ws = new WebSocket(`${botSim.wsUrl}/v1?deploymentId=sim-deployment`);
      const frames: Frame[] = [];
      const got = new Promise<void>((resolve) => {
        ws.on('message', (data) => {
          frames.push(JSON.parse(String(data)) as Frame);
          if (frames.length === 3) resolve();
        });
      });
      await new Promise((resolve) => ws.once('open', resolve));
      const token = randomUUID();
      ws.send(
        JSON.stringify({ action: 'configureSession', deploymentId: 'sim-deployment', token }),
      );
      ws.send(
        JSON.stringify({
          action: 'onMessage',
          token,
          tracingId: 'b1',
          message: { type: 'Text', text: 'hi' },
        }),
      );
      await got;
      expect(frames[2]).toEqual(outbound('I got your message "hi"', 'Bot'));
      ws.terminate();
    } finally {
      await botSim.close();
    }
  });
});

describe('history', () => {
  it('newest first, paginated', async () => {
    const { token, g } = await configuredGuest();
    for (let i = 1; i <= 5; i += 1) {
      await g.sendText(token, `m${i}`, `h${i}`);
      sim.control.advanceClock(1000);
    }
    sim.control.agentMessage(token, 'agent');
    await g.next();
    const jwt = await jwtFor(g, token);

    const page1 = await history(jwt, '?pageSize=4&pageNumber=1');
    expect(page1.status).toBe(200);
    expect(page1.headers.get('inin-ratelimit-count')).toBe('1');
    expect(page1.headers.get('inin-ratelimit-allowed')).toBe('300');
    expect(page1.headers.get('inin-ratelimit-reset')).toMatch(/^\d+$/);
    expect(page1.headers.get('inin-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    const body1 = (await page1.json()) as Record<string, unknown>;
    expect(body1).toEqual({
      entities: [
        {
          id: expect.any(String),
          channel: { time: expect.any(String), messageId: expect.any(String) },
          type: 'Text',
          text: 'agent',
          content: [],
          direction: 'Outbound',
          originatingEntity: 'Human',
          metadata: {},
        },
        // MG messageEntityResponseWith3Messages: Inbound entries carry originatingEntity "Human".
        {
          id: expect.any(String),
          channel: { time: expect.any(String), messageId: expect.any(String) },
          type: 'Text',
          text: 'm5',
          content: [],
          direction: 'Inbound',
          originatingEntity: 'Human',
          metadata: {},
        },
        expect.objectContaining({ text: 'm4' }),
        expect.objectContaining({ text: 'm3' }),
      ],
      pageSize: 4,
      pageNumber: 1,
      total: 6,
      pageCount: 2,
    });
    const page2 = (await (await history(jwt, '?pageSize=4&pageNumber=2')).json()) as {
      entities: Array<{ text: string }>;
    };
    expect(page2.entities.map((e) => e.text)).toEqual(['m2', 'm1']);
    const defaults = (await (await history(jwt)).json()) as Record<string, unknown>;
    expect(defaults).toMatchObject({ pageSize: 25, pageNumber: 1, total: 6, pageCount: 1 });
    expect((await history(jwt, '?pageSize=0')).status).toBe(400);
  });

  it('401 for a missing, unknown or expired JWT', async () => {
    const missing = await fetch(`${sim.url}/api/v2/webmessaging/messages`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({
      message: expect.any(String),
      code: 'authentication.required',
      status: 401,
      messageParams: {},
      contextId: expect.any(String),
      details: [],
      errors: [],
    });
    const unknown = await history('not-a-jwt');
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toMatchObject({ code: 'bad.credentials', status: 401 });

    sim.control.setJwtTtl(60);
    const { token, g } = await configuredGuest();
    const jwt = await jwtFor(g, token);
    expect((await history(jwt)).status).toBe(200);
    sim.control.advanceClock(60_000);
    expect((await history(jwt)).status).toBe(401);
    sim.control.setJwtTtl(3600);
  });
});

describe('socket faults', () => {
  it("dropSocket 'after-accept': stored and delivered, socket dies, no echo", async () => {
    const { token, g } = await configuredGuest();
    sim.control.dropSocket(token, 'after-accept');
    g.send({
      action: 'onMessage',
      token,
      tracingId: 'lost-echo',
      message: { type: 'Text', text: 'x' },
    });
    expect(await g.closed).toBe(1006);
    expect(g.pending()).toBe(0);
    expect(sim.control.delivered().map((d) => d.externalId)).toEqual(['lost-echo']);

    const again = await guest();
    await again.configure(token);
    const jwt = await jwtFor(again, token);
    const body = (await (await history(jwt)).json()) as { entities: Array<{ text: string }> };
    expect(body.entities.map((e) => e.text)).toEqual(['x']);
  });

  it("dropSocket 'before-accept': socket dies, nothing stored", async () => {
    const { token, g } = await configuredGuest();
    sim.control.dropSocket(token, 'before-accept');
    g.send({
      action: 'onMessage',
      token,
      tracingId: 'never',
      message: { type: 'Text', text: 'x' },
    });
    expect(await g.closed).toBe(1006);
    expect(sim.control.delivered()).toEqual([]);
    expect(sim.control.sessions().find((s) => s.token === token)?.messages).toEqual([]);
  });

  it('reorderNextFrames emits the next n frames in reverse; delayFrames delays them', async () => {
    const { token, g } = await configuredGuest();
    sim.control.reorderNextFrames(2);
    g.send({ action: 'onMessage', token, tracingId: 'o1', message: { type: 'Text', text: 'o1' } });
    g.send({ action: 'onMessage', token, tracingId: 'o2', message: { type: 'Text', text: 'o2' } });
    const frames = await g.nextN(2);
    expect(frames.map((f) => f['tracingId'])).toEqual(['o2', 'o1']);

    sim.control.delayFrames(20);
    sim.control.advanceClock(1000);
    expect(await g.sendText(token, 'late', 'd1')).toEqual(echoOf('late', 'd1'));
    expect(sim.control.state().guest.frames.delayMs).toBe(20);
  });

  it('outage terminates guest sockets and refuses new ones; reconnect works after', async () => {
    const { token, g } = await configuredGuest();
    await sim.control.outage('refuse');
    expect(await g.closed).toBe(1006);
    const refused = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${sim.wsUrl}/v1?deploymentId=sim-deployment`);
      ws.once('open', () => resolve('open'));
      ws.once('error', (e: unknown) => resolve((e as { code?: string }).code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    await sim.control.outage('reset');
    const reset = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${sim.wsUrl}/v1?deploymentId=sim-deployment`);
      ws.once('open', () => resolve('open'));
      ws.once('error', () => resolve('error'));
    });
    expect(reset).toBe('error');
    await sim.control.outage(false);
    const back = await guest();
    expect(await back.configure(token)).toEqual(sessionResponse(false));
  });
});

describe('guest control over HTTP', () => {
  const post = (name: string, body: unknown) =>
    fetch(`${sim.controlUrl}/__control/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('agentMessage, failNextOnMessage and sessions', async () => {
    const { token, g } = await configuredGuest();
    const res = await post('agentMessage', { session: token, text: 'hello from HTTP' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ text: 'hello from HTTP', direction: 'Outbound' });
    expect(await g.next()).toEqual(outbound('hello from HTTP', 'Human'));
    expect((await post('failNextOnMessage', { code: 5000 })).status).toBe(200);
    expect(await g.sendText(token, 'x', 'h5')).toEqual(error(5000, 'h5'));
    const sessions = (await (await fetch(`${sim.controlUrl}/__control/sessions`)).json()) as Array<{
      token: string;
    }>;
    expect(sessions.some((s) => s.token === token)).toBe(true);
    expect((await post('agentMessage', { session: 'nobody', text: 'x' })).status).toBe(400);
  });

  it('setDeploymentSettings, agentDisconnect {readOnly} and connectionClosed {reason}', async () => {
    const settings = { conversationDisconnect: { type: 'ReadOnly' } };
    expect((await post('setDeploymentSettings', { settings })).status).toBe(200);
    expect(sim.control.deploymentSettings('sim-deployment').conversationDisconnect.type).toBe(
      'ReadOnly',
    );
    expect((await post('setDeploymentSettings', {})).status).toBe(400);
    expect((await post('setDeploymentSettings', { settings, deploymentId: 'nope' })).status).toBe(
      400,
    );
    const bad = { conversationDisconnect: { type: 'Maybe' } };
    expect((await post('setDeploymentSettings', { settings: bad })).status).toBe(400);

    const { token, g } = await configuredGuest();
    const res = await post('agentDisconnect', { session: token, readOnly: false });
    expect(await res.json()).toMatchObject({ type: 'Event', direction: 'Outbound' });
    expect(await g.next()).toEqual(disconnectEvent('false'));
    expect((await post('agentDisconnect', { session: token, readOnly: 'yes' })).status).toBe(400);
    expect((await post('connectionClosed', { session: token, reason: 'signedIn' })).status).toBe(
      200,
    );
    expect(await g.next()).toMatchObject({
      class: 'ConnectionClosedEvent',
      body: { reason: 'signedIn' },
    });
    expect(await g.closed).toBe(1000);
  });
});

describe('event and structured messages (Genesys SDK requests, frames as its fixtures show them)', () => {
  /** MG Request.autostart: an Event message with a Presence Join. */
  const autostart = (token: string, tracingId: string) => ({
    token,
    action: 'onMessage',
    tracingId,
    message: {
      events: [{ eventType: 'Presence', presence: { type: 'Join' } }],
      channel: { metadata: { customAttributes: { A: 'B' } } },
      type: 'Event',
    },
  });
  /** MG UserTypingRequest / ClearConversationRequest. */
  const typing = (token: string, tracingId: string) => ({
    token,
    tracingId,
    action: 'onMessage',
    message: { events: [{ eventType: 'Typing', typing: { type: 'On' } }], type: 'Event' },
  });
  const clear = (token: string, tracingId: string) => ({
    token,
    tracingId,
    action: 'onMessage',
    message: { events: [{ eventType: 'Presence', presence: { type: 'Clear' } }], type: 'Event' },
  });
  /** MG structuredMessageWithEvents(direction = Inbound, presenceJoin), with the request's tracingId. */
  const inboundEvent = (presenceType: string, tracingId: string) => ({
    type: 'message',
    class: 'StructuredMessage',
    code: 200,
    tracingId,
    body: {
      direction: 'Inbound',
      id: expect.any(String),
      type: 'Event',
      channel: { time: expect.any(String), messageId: expect.any(String) },
      metadata: { correlationId: expect.any(String) },
      events: [{ eventType: 'Presence', presence: { type: presenceType } }],
    },
  });

  it('Presence Join (autostart) is accepted, echoed as an Inbound Event and kept in history; not a delivered message', async () => {
    const { token, g } = await configuredGuest();
    g.send(autostart(token, 'as-1'));
    expect(await g.next()).toEqual(inboundEvent('Join', 'as-1'));
    expect(sim.control.delivered()).toEqual([]);
    const session = sim.control.sessions().find((s) => s.token === token);
    expect(session?.messages.map((m) => [m.direction, m.type])).toEqual([['Inbound', 'Event']]);
    expect(session?.messages[0]?.customAttributes).toEqual({ A: 'B' });
  });

  it('Typing: 403 "Turn on the Feature Toggle…" unless the deployment shows user typing; then accepted, not stored, no echo (echoTypingEvents: echoed)', async () => {
    const { token, g } = await configuredGuest();
    g.send(typing(token, 'ty-1'));
    // MG Response.typingIndicatorForbidden (+ tracingId)
    expect(await g.next()).toEqual({
      type: 'response',
      class: 'string',
      code: 403,
      body: 'Turn on the Feature Toggle or fix the configuration.',
      tracingId: 'ty-1',
    });
    sim.control.setDeploymentSettings({ showUserTypingIndicator: true });
    g.send(typing(token, 'ty-2'));
    g.send({ action: 'getJwt', token, tracingId: 'after-typing' });
    // The next frame answers the getJwt: the Typing event had no answer.
    expect(await g.next()).toMatchObject({ class: 'JwtResponse', tracingId: 'after-typing' });
    expect(sim.control.sessions().find((s) => s.token === token)?.messages).toEqual([]);

    const local = await startSimulator({
      echoTypingEvents: true,
      deploymentSettings: { 'sim-deployment': { showUserTypingIndicator: true } },
    });
    try {
      const ws = new WebSocket(`${local.wsUrl}/v1?deploymentId=sim-deployment`);
      const frames: Frame[] = [];
      const got = new Promise<void>((resolve) => {
        ws.on('message', (d) => {
          frames.push(JSON.parse(String(d)) as Frame);
          if (frames.length === 2) resolve();
        });
      });
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(
        JSON.stringify({ action: 'configureSession', deploymentId: 'sim-deployment', token }),
      );
      ws.send(JSON.stringify(typing(token, 'ty-3')));
      await got;
      expect(frames[1]).toMatchObject({
        class: 'StructuredMessage',
        tracingId: 'ty-3',
        body: { direction: 'Inbound', type: 'Event', events: [{ eventType: 'Typing' }] },
      });
      ws.terminate();
    } finally {
      await local.close();
    }
  });

  it('Presence Clear: 403 when the deployment does not allow it; else echo, SessionClearedEvent, ConnectionClosedEvent on every socket, then a new session', async () => {
    const { token, g } = await configuredGuest();
    await g.sendText(token, 'secret', 'cl-0');
    g.send(clear(token, 'cl-1'));
    // MG Response.clearConversationForbidden()
    expect(await g.next()).toEqual({
      type: 'response',
      class: 'string',
      code: 403,
      body: 'Presence events Conversation Clear are not supported',
      tracingId: 'cl-1',
    });

    sim.control.setDeploymentSettings({ conversationClear: { enabled: true } });
    const other = await guest();
    await other.configure(token);
    const before = sim.control.sessions().find((s) => s.token === token)?.conversationId;
    g.send(clear(token, 'cl-2'));
    // MG clear_conversation_hld.puml: 200 response, SessionClearedEvent, ConnectionClosedEvent.
    expect(await g.next()).toEqual(inboundEvent('Clear', 'cl-2'));
    const cleared = { type: 'message', class: 'SessionClearedEvent', code: 200, body: {} };
    const closed = { type: 'message', class: 'ConnectionClosedEvent', code: 200, body: {} };
    expect(await g.nextN(2)).toEqual([cleared, closed]);
    expect(await other.nextN(2)).toEqual([cleared, closed]);
    expect(await g.closed).toBe(1000);
    expect(await other.closed).toBe(1000);

    const back = await guest();
    expect(await back.configure(token)).toEqual(sessionResponse(true));
    const session = sim.control.sessions().find((s) => s.token === token);
    expect(session?.conversationId).not.toBe(before);
    expect(session?.messages).toEqual([]);
    const jwt = await jwtFor(back, token);
    expect(((await (await history(jwt)).json()) as { total: number }).total).toBe(0);
  });

  it('a Clear is allowed on a read-only conversation; other events are not; unknown events → 400', async () => {
    sim.control.setDeploymentSettings({ conversationClear: { enabled: true } });
    const { token, g } = await configuredGuest();
    g.send({
      token,
      tracingId: 'ev-x',
      action: 'onMessage',
      message: { type: 'Event', events: [{ eventType: 'Fake', bloop: { bip: 'bop' } }] },
    });
    expect(await g.next()).toEqual(error(400, 'ev-x'));
    g.send({ token, tracingId: 'ev-0', action: 'onMessage', message: { type: 'Event' } });
    expect(await g.next()).toEqual(error(4020, 'ev-0'));
    sim.control.agentDisconnect(token, { readOnly: true });
    await g.next();
    g.send(autostart(token, 'ev-ro'));
    expect(await g.next()).toEqual(error(400, 'ev-ro'));
    g.send(clear(token, 'ev-cl'));
    expect(await g.next()).toEqual(inboundEvent('Clear', 'ev-cl'));
  });

  it('a Structured quick-reply answer keeps its type and content in the echo and in history', async () => {
    const { token, g } = await configuredGuest();
    // MG onMessageWithQuickReplies (agent side), written with agentMessage's content.
    const quickReplies = [
      {
        contentType: 'QuickReply',
        quickReply: { text: 'text_a', payload: 'payload_a', action: 'action_a' },
      },
      {
        contentType: 'QuickReply',
        quickReply: { text: 'text_b', payload: 'payload_b', action: 'action_b' },
      },
    ];
    sim.control.agentMessage(token, 'Hi', { originatingEntity: 'Bot', content: quickReplies });
    expect(await g.next()).toEqual({
      type: 'message',
      class: 'StructuredMessage',
      code: 200,
      body: {
        direction: 'Outbound',
        id: expect.any(String),
        channel: { time: expect.any(String), type: 'Private' },
        type: 'Structured',
        text: 'Hi',
        content: quickReplies,
        originatingEntity: 'Bot',
        metadata: { correlationId: expect.any(String) },
      },
    });
    // MG MessageTest: {"contentType":"ButtonResponse","buttonResponse":{…,"type":"QuickReply"}}
    const answer = [
      {
        contentType: 'ButtonResponse',
        buttonResponse: { text: 'text_a', payload: 'payload_a', type: 'QuickReply' },
      },
    ];
    g.send({
      token,
      tracingId: 'qr-1',
      action: 'onMessage',
      message: { text: 'text_a', type: 'Structured', content: answer },
    });
    expect(await g.next()).toEqual({
      type: 'message',
      class: 'StructuredMessage',
      code: 200,
      tracingId: 'qr-1',
      body: {
        direction: 'Inbound',
        id: expect.any(String),
        type: 'Structured',
        channel: { time: expect.any(String), messageId: expect.any(String) },
        metadata: { correlationId: expect.any(String) },
        text: 'text_a',
        content: answer,
      },
    });
    const jwt = await jwtFor(g, token);
    const page = (await (await history(jwt)).json()) as {
      entities: Array<Record<string, unknown>>;
    };
    expect(page.entities.map((e) => [e['type'], e['direction'], e['content']])).toEqual([
      ['Structured', 'Inbound', answer],
      ['Structured', 'Outbound', quickReplies],
    ]);
  });

  it('history holds Event entries too (autostart, agent Disconnect) with content: [] and events', async () => {
    const { token, g } = await configuredGuest();
    g.send(autostart(token, 'h-as'));
    await g.next();
    await g.sendText(token, 'hello', 'h-1');
    sim.control.agentDisconnect(token);
    await g.next();
    const jwt = await jwtFor(g, token);
    const page = (await (await history(jwt)).json()) as {
      entities: Array<Record<string, unknown>>;
      total: number;
    };
    expect(page.total).toBe(3);
    expect(page.entities[0]).toEqual({
      id: expect.any(String),
      channel: { time: expect.any(String), messageId: expect.any(String) },
      type: 'Event',
      content: [],
      events: [{ eventType: 'Presence', presence: { type: 'Disconnect' } }],
      direction: 'Outbound',
      originatingEntity: 'Human',
      metadata: { readOnly: 'false' },
    });
    expect(page.entities[2]).toMatchObject({
      type: 'Event',
      direction: 'Inbound',
      originatingEntity: 'Human',
      content: [],
      events: [{ eventType: 'Presence', presence: { type: 'Join' } }],
    });
  });

  it('getJwt hands out a real JWT: three base64url parts, HS256 header, exp as in JwtResponse', async () => {
    const { token, g } = await configuredGuest();
    g.send({ action: 'getJwt', token, tracingId: 'j' });
    const frame = await g.next();
    const { jwt, exp } = frame.body as { jwt: string; exp: number };
    const parts = jwt.split('.');
    expect(parts).toHaveLength(3);
    const decode = (p: string): unknown => JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    expect(decode(parts[0] ?? '')).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(decode(parts[1] ?? '')).toMatchObject({ exp });
    const tampered = `${parts[0]}.${parts[1]}.${'A'.repeat(parts[2]?.length ?? 0)}`;
    expect((await history(tampered)).status).toBe(401);
    expect((await history(jwt)).status).toBe(200);
  });
});
