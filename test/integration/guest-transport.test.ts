// The guest transport driven directly (no outbox) against the simulator over real WebSockets.
import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import type { OutboxEntry } from '../../src/outbox/entry.js';
import { memoryStore } from '../../src/store/memory.js';
import { guestTransport, type GuestTransportOptions } from '../../src/transport/guest.js';
import type { SendOutcome, Transport } from '../../src/transport/Transport.js';
import { directContext, waitFor, type DirectContext } from './guest-helpers.js';

const DEPLOYMENT = 'sim-deployment';
let sim: Simulator;
let ctx: DirectContext;
let transport: Transport;

function entry(text: string): OutboxEntry {
  return {
    id: crypto.randomUUID(),
    conversationId: 'default',
    text,
    status: 'sending',
    attempts: 0,
    createdAt: Date.now(),
  };
}

async function ready(extra: Partial<GuestTransportOptions> = {}): Promise<string> {
  transport = guestTransport({
    webSocketUrl: sim.wsUrl,
    apiBaseUrl: sim.url,
    deploymentId: DEPLOYMENT,
    WebSocket,
    reconnect: { baseDelayMs: 20, maxDelayMs: 100 },
    ...extra,
  });
  ctx = directContext(memoryStore());
  await ctx.store.open();
  await transport.start?.(ctx);
  await waitFor(() => ctx.wakes > 0, 'a configured session');
  return waitFor(() => sim.control.sessions()[0]?.token, 'the session');
}

const send = (e: OutboxEntry, inDoubt = false): Promise<SendOutcome> =>
  transport.send(e, { signal: ctx.signal, attempt: 1, inDoubt });

const guestTexts = (token: string): string[] =>
  (sim.control.sessions().find((s) => s.token === token)?.messages ?? [])
    .filter((m) => m.direction === 'Inbound')
    .map((m) => m.text ?? '');

beforeEach(async () => {
  sim = await startSimulator({ port: 0 });
});

afterEach(async () => {
  await transport?.close?.();
  await sim.close();
});

describe('guest transport against the simulator', () => {
  it('delivers on the echo with the server id, and the agent sees it once', async () => {
    const token = await ready();
    const e = entry('Hello agent');
    const o = await send(e);
    const stored = sim.control.sessions()[0]?.messages.find((m) => m.tracingId === e.id);
    expect(o).toEqual({
      kind: 'delivered',
      serverId: stored?.id,
      serverTime: Date.parse(stored?.time ?? ''),
    });
    expect(guestTexts(token)).toEqual(['Hello agent']);
    // The outbox writes the guest's line from this outcome; the transport does not write it twice.
    expect(await ctx.store.getTranscript(e.id)).toBeUndefined();
  });

  it.each([
    [4011, 'rejected', 'message-too-long'],
    [4013, 'rejected', 'rejected'],
    [4020, 'rejected', 'rejected'],
    [4001, 'rejected', 'rejected'],
    [400, 'rejected', 'rejected'],
    [5000, 'retry', 'server-error'],
  ])('guest error %i ends %s (%s) and nothing is stored', async (code, kind, errorCode) => {
    const token = await ready();
    sim.control.failNextOnMessage(code);
    expect(await send(entry('x'))).toMatchObject({
      kind,
      error: { code: errorCode, status: code },
    });
    expect(guestTexts(token)).toEqual([]);
  });

  it('429 ends rate-limited with the server retryAfter', async () => {
    await ready();
    sim.control.failNextOnMessage(429, {
      retryAfter: 2,
      errorCode: 4029,
      errorMessage: 'Message rate too high for this session',
    });
    expect(await send(entry('x'))).toMatchObject({
      kind: 'rate-limited',
      retryAfterMs: 2000,
      error: { code: 'rate-limited' },
    });
  });

  it.each([4006, 4007])(
    'guest error %i: session configured again, message sent at once',
    async (code) => {
      const token = await ready();
      sim.control.failNextOnMessage(code);
      expect((await send(entry('after re-configure'))).kind).toBe('delivered');
      expect(guestTexts(token)).toEqual(['after re-configure']);
    },
  );

  it('403 "Session authentication failed": configured again and sent', async () => {
    const token = await ready();
    sim.control.failNextOnMessage(403, 'Session authentication failed.');
    expect((await send(entry('x'))).kind).toBe('delivered');
    expect(guestTexts(token)).toEqual(['x']);
  });

  it('an expired session is configured again (new conversation) and nothing is lost', async () => {
    const token = await ready();
    expect((await send(entry('before'))).kind).toBe('delivered');
    sim.control.expireSession(token);
    expect((await send(entry('after'))).kind).toBe('delivered');
    const s = sim.control.sessions()[0];
    const all = [
      ...(s?.previousConversations.flatMap((c) => c.messages) ?? []),
      ...(s?.messages ?? []),
    ];
    expect(all.filter((m) => m.direction === 'Inbound').map((m) => m.text)).toEqual([
      'before',
      'after',
    ]);
  });

  it('socket down with a reconnect pending: offline at once', async () => {
    const token = await ready({ reconnect: { baseDelayMs: 60_000, maxDelayMs: 60_000 } });
    sim.control.dropSocket(token, 'before-accept');
    expect((await send(entry('x'))).kind).toBe('retry');
    expect(await send(entry('y'))).toMatchObject({ kind: 'offline', error: { code: 'network' } });
  });

  it('drop after accept: in doubt, then found in history, not resent', async () => {
    const token = await ready();
    const e = entry('maybe sent');
    sim.control.dropSocket(token, 'after-accept');
    expect(await send(e)).toMatchObject({ kind: 'retry', error: { code: 'in-doubt' } });
    await waitFor(() => ctx.wakes >= 2, 'the reconnect');
    const o = await send(e, true);
    expect(o.kind).toBe('delivered');
    expect(guestTexts(token)).toEqual(['maybe sent']);
  });

  it('drop before accept: in doubt, not in history, resent once', async () => {
    const token = await ready();
    const e = entry('not yet sent');
    sim.control.dropSocket(token, 'before-accept');
    expect(await send(e)).toMatchObject({ kind: 'retry', error: { code: 'in-doubt' } });
    expect(guestTexts(token)).toEqual([]);
    await waitFor(() => ctx.wakes >= 2, 'the reconnect');
    const o = await send(e, true);
    expect(o.kind).toBe('delivered');
    expect(guestTexts(token)).toEqual(['not yet sent']);
  });

  it('reordered agent frames do not reorder the transcript', async () => {
    const token = await ready();
    sim.control.reorderNextFrames(3);
    for (const text of ['first', 'second', 'third']) {
      sim.control.agentMessage(token, text);
      sim.control.advanceClock(5);
    }
    await waitFor(
      () => ctx.records.filter((r) => r.direction === 'Outbound').length === 3,
      'three agent lines',
    );
    expect(ctx.records.filter((r) => r.direction === 'Outbound').map((r) => r.text)).toEqual([
      'third',
      'second',
      'first',
    ]);
    expect((await ctx.store.listTranscript('default')).map((r) => r.text)).toEqual([
      'first',
      'second',
      'third',
    ]);
  });

  it('agent disconnect: a Presence:Disconnect line, then conversation-ended (or a new chat with startNew)', async () => {
    // A deployment whose Disconnect makes the conversation read-only (Genesys' default is Send).
    sim.control.setDeploymentSettings({
      conversationDisconnect: { enabled: true, type: 'ReadOnly' },
    });
    const token = await ready();
    sim.control.agentDisconnect(token);
    await waitFor(
      () => ctx.records.some((r) => r.event === 'Presence:Disconnect'),
      'the disconnect line',
    );
    expect(await send(entry('too late'))).toMatchObject({
      kind: 'rejected',
      error: { code: 'conversation-ended' },
    });
    await transport.close?.();

    const again = await ready({ startNew: true, sessionToken: token });
    expect(again).toBe(token);
    expect((await send(entry('new chat'))).kind).toBe('delivered');
    const s = sim.control.sessions()[0];
    expect(s?.previousConversations.length).toBe(1);
    expect(s?.messages.filter((m) => m.direction === 'Inbound').map((m) => m.text)).toEqual([
      'new chat',
    ]);
  });

  it('close() does not close the session: a new transport on the same store resumes it', async () => {
    const token = await ready();
    const store = ctx.store;
    expect((await send(entry('one'))).kind).toBe('delivered');
    await transport.close?.();
    transport = guestTransport({
      webSocketUrl: sim.wsUrl,
      apiBaseUrl: sim.url,
      deploymentId: DEPLOYMENT,
      WebSocket,
    });
    ctx = directContext(store);
    await transport.start?.(ctx);
    expect((await send(entry('two'))).kind).toBe('delivered');
    expect(sim.control.sessions().map((s) => s.token)).toEqual([token]);
    expect(guestTexts(token)).toEqual(['one', 'two']);
    expect(sim.control.sessions()[0]?.previousConversations).toEqual([]);
  });
});

describe('the session as Genesys closes it (issue 11, simulator)', () => {
  it('an agent Disconnect with readOnly "false" (deployment default Send): the next message is sent', async () => {
    const token = await ready();
    sim.control.agentDisconnect(token);
    await waitFor(
      () => ctx.records.some((r) => r.event === 'Presence:Disconnect'),
      'the disconnect line',
    );
    expect((await send(entry('after the disconnect'))).kind).toBe('delivered');
    expect(guestTexts(token)).toEqual(['after the disconnect']);
  });

  it('another connection closes the session: this one stops, tells why, never takes it back', async () => {
    const token = await ready();
    // Another device of the same guest closes every other connection of the session.
    const other = new WebSocket(`${sim.wsUrl}/v1?deploymentId=${DEPLOYMENT}`);
    const answers: string[] = [];
    other.on('message', (d: WebSocket.RawData) => answers.push(String(d)));
    await new Promise((r) => other.once('open', r));
    other.send(JSON.stringify({ action: 'configureSession', deploymentId: DEPLOYMENT, token }));
    await waitFor(() => answers.length > 0, 'the other session');
    other.send(JSON.stringify({ action: 'closeSession', token, closeAllConnections: true }));
    await waitFor(() => ctx.events.length > 0, 'the session-closed event');
    expect(ctx.events).toEqual([{ type: 'session-closed', reason: 'session-limit' }]);
    transport.resume?.();
    expect(await send(entry('held'))).toMatchObject({
      kind: 'offline',
      error: { code: 'session-closed' },
    });
    // A reconnect would configure the session again within the 20-100 ms backoff.
    await new Promise((r) => setTimeout(r, 400));
    expect(sim.control.sessions()[0]?.connections).toBe(1); // only the other one
    expect(guestTexts(token)).toEqual([]);
    other.close();
  });

  it('ConnectionClosedEvent "signedIn": stops and discards the stored token', async () => {
    const token = await ready();
    sim.control.connectionClosed(token, { reason: 'signedIn' });
    await waitFor(() => ctx.events.length > 0, 'the session-closed event');
    expect(ctx.events).toEqual([{ type: 'session-closed', reason: 'signed-in' }]);
    await waitFor(
      async () => (await ctx.store.getMeta(`guest.sessionToken:${DEPLOYMENT}`)) !== token,
      'a new token',
    );
  });
});
