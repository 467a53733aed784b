import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { thrownCode } from '../helpers/errorCode.js';
import type { OutboxEntry } from '../../src/outbox/entry.js';
import { guestTransport, type GuestTransportOptions } from '../../src/transport/guest.js';
import type { SendOutcome, Transport } from '../../src/transport/Transport.js';
import {
  FakeSocket,
  ManualClock,
  fakeContext,
  flush,
  historyFetch,
  startTransport,
  type FakeContext,
} from './guest-fakes.js';

const DEPLOYMENT = '3b0e9f7c-1111-4222-8333-444455556666';

let clock: ManualClock;
let ctx: FakeContext;
let hist: { entities: unknown[]; status?: number; calls: string[] };
let transport: Transport;
let seq = 0;

function entry(text: string, extra: Partial<OutboxEntry> = {}): OutboxEntry {
  seq++;
  return {
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    conversationId: 'default',
    text,
    status: 'sending',
    attempts: 0,
    createdAt: clock.now(),
    ...extra,
  };
}

function make(extra: Partial<GuestTransportOptions> = {}): Transport {
  return guestTransport({
    webSocketUrl: 'ws://sim.test',
    apiBaseUrl: 'http://sim.test/',
    deploymentId: DEPLOYMENT,
    WebSocket: FakeSocket,
    fetch: historyFetch(hist),
    reconnect: { baseDelayMs: 100, maxDelayMs: 1000 },
    ...extra,
  });
}

/** start() + open + SessionResponse + the history sync that follows it. */
/** Drops the socket, lets it reconnect, configure the same session and read the history again. */
async function reconnectAndSync(s: FakeSocket): Promise<void> {
  s.drop();
  await clock.advance(50);
  FakeSocket.last.open();
  await flush();
  FakeSocket.last.session({ newSession: false });
  await flush();
  FakeSocket.last.jwt();
  await flush(10);
}

async function startReady(
  extra: Partial<GuestTransportOptions> = {},
  session: Record<string, unknown> = {},
): Promise<FakeSocket> {
  transport = make(extra);
  const s = await startTransport(transport, ctx);
  s.open();
  await flush();
  s.session(session);
  await flush();
  s.jwt(); // for the history sync after configuring
  await flush(10);
  return s;
}

function send(e: OutboxEntry, inDoubt = false): Promise<SendOutcome> {
  return transport.send(e, { signal: ctx.signal, attempt: 1, inDoubt });
}

beforeEach(() => {
  FakeSocket.all = [];
  clock = new ManualClock();
  ctx = fakeContext(clock);
  hist = { entities: [], calls: [] };
});

afterEach(async () => {
  await transport?.close?.();
});

describe('guestTransport options', () => {
  const base = {
    webSocketUrl: 'ws://x',
    apiBaseUrl: 'http://x',
    deploymentId: DEPLOYMENT,
    WebSocket: FakeSocket,
  };
  it('validates up front with precise codes', () => {
    expect(thrownCode(() => guestTransport({ ...base, deploymentId: '' }))).toBe(
      'invalid-deployment-id',
    );
    expect(thrownCode(() => guestTransport({ ...base, deploymentId: 'a b' }))).toBe(
      'invalid-deployment-id',
    );
    expect(thrownCode(() => guestTransport({ ...base, deploymentId: 'x'.repeat(129) }))).toBe(
      'invalid-deployment-id',
    );
    expect(
      thrownCode(() =>
        guestTransport({ ...base, region: 'mars_1', webSocketUrl: undefined as never }),
      ),
    ).toBe('unknown-region');
    expect(thrownCode(() => guestTransport({ ...base, sessionToken: 'x'.repeat(2049) }))).toBe(
      'invalid-session-token',
    );
    expect(thrownCode(() => guestTransport({ ...base, sessionToken: '' }))).toBe(
      'invalid-session-token',
    );
    expect(
      thrownCode(() => guestTransport({ deploymentId: DEPLOYMENT, WebSocket: FakeSocket })),
    ).toBe('invalid-options');
    expect(
      thrownCode(() =>
        guestTransport({ deploymentId: DEPLOYMENT, webSocketUrl: 'ws://x', WebSocket: FakeSocket }),
      ),
    ).toBe('invalid-options');
    expect(thrownCode(() => guestTransport({ ...base, webSocketUrl: 'http://x' }))).toBe(
      'invalid-options',
    );
    expect(thrownCode(() => guestTransport({ ...base, pingIntervalMs: 29_999 }))).toBe(
      'invalid-options',
    );
    expect(thrownCode(() => guestTransport({ ...base, messagesPerSecond: 0 }))).toBe(
      'invalid-options',
    );
    expect(
      thrownCode(() => guestTransport({ ...base, reconnect: { baseDelayMs: 10, maxDelayMs: 5 } })),
    ).toBe('invalid-options');
    expect(thrownCode(() => guestTransport({ ...base, sessionToken: 'x'.repeat(2048) }))).toBe(
      'no error',
    );
    expect(thrownCode(() => guestTransport({ ...base, deploymentId: 'x'.repeat(128) }))).toBe(
      'no error',
    );
  });

  it('needs a WebSocket constructor when the platform has none', () => {
    const g = globalThis as { WebSocket?: unknown };
    const saved = g.WebSocket;
    g.WebSocket = undefined;
    try {
      expect(
        thrownCode(() =>
          guestTransport({
            webSocketUrl: 'ws://x',
            apiBaseUrl: 'http://x',
            deploymentId: DEPLOYMENT,
          }),
        ),
      ).toBe('invalid-options');
    } finally {
      g.WebSocket = saved;
    }
  });

  it('builds the endpoint from a region', async () => {
    transport = guestTransport({
      region: 'eu-west-1',
      deploymentId: DEPLOYMENT,
      WebSocket: FakeSocket,
    });
    await startTransport(transport, ctx);
    expect(FakeSocket.last.url).toBe(
      `wss://webmessaging.mypurecloud.ie/v1?deploymentId=${DEPLOYMENT}`,
    );
  });
});

describe('guestTransport session', () => {
  it('generates the session token once, keeps it in the store, and resumes with it', async () => {
    const s = await startReady();
    const token = s.lastSent('configureSession').token;
    expect(typeof token).toBe('string');
    expect(await ctx.store.getMeta(`guest.sessionToken:${DEPLOYMENT}`)).toBe(token);
    expect(s.lastSent('configureSession')).toMatchObject({
      action: 'configureSession',
      deploymentId: DEPLOYMENT,
      startNew: false,
    });
    await transport.close?.();

    const ctx2 = fakeContext(clock, ctx.store);
    const again = make();
    await startTransport(again, ctx2);
    FakeSocket.last.open();
    await flush();
    expect(FakeSocket.last.lastSent('configureSession').token).toBe(token);
    await again.close?.();
  });

  it('a caller-supplied token wins', async () => {
    await ctx.store.setMeta(`guest.sessionToken:${DEPLOYMENT}`, 'kept');
    const s = await startReady({ sessionToken: 'mine' });
    expect(s.lastSent('configureSession').token).toBe('mine');
  });

  it('after configuring: reports online, wakes the outbox, fetches history with the jwt', async () => {
    await startReady();
    expect(ctx.connectivity).toEqual([true]);
    expect(ctx.wakes).toBe(1);
    expect(hist.calls).toEqual([
      'http://sim.test/api/v2/webmessaging/messages?pageSize=25&pageNumber=1 Bearer the-jwt',
    ]);
  });

  it('reconnects with backoff after a drop and configures the same session again', async () => {
    const s = await startReady();
    s.drop();
    await flush();
    expect(ctx.connectivity).toEqual([true, false]);
    expect(FakeSocket.all.length).toBe(1);
    await clock.advance(49); // random 0.5 * base 100 = 50 ms
    expect(FakeSocket.all.length).toBe(1);
    await clock.advance(1);
    expect(FakeSocket.all.length).toBe(2);
    FakeSocket.last.open();
    await flush();
    expect(FakeSocket.last.lastSent('configureSession').token).toBe(
      s.lastSent('configureSession').token,
    );
  });

  it('close() sends no closeSession and leaves no timers', async () => {
    const s = await startReady();
    await transport.close?.();
    expect(s.actions()).not.toContain('closeSession');
    expect(s.closed).toBe(true);
    expect(clock.pending()).toBe(0);
  });

  it('sends a health echo only after an idle interval, at most once per 30 s', async () => {
    const s = await startReady();
    const before = s.actions().length;
    await clock.advance(29_999);
    expect(s.actions().length).toBe(before);
    await clock.advance(1);
    expect(s.actions().slice(before)).toEqual(['echo']);
    expect(s.lastSent('echo')).toMatchObject({ message: { type: 'Text', text: 'ping' } });
  });

  it('logs and ignores malformed frames without their text', async () => {
    const s = await startReady();
    s.push('secret text, not json');
    s.push({ type: 'message', class: 'Bogus', code: 200, body: { text: 'secret' } });
    s.push({ type: 'message', class: 'StructuredMessage', code: 200 });
    await flush();
    const warnings = ctx.logs.filter((l) => l.message.includes('malformed'));
    expect(warnings.map((w) => w.context?.reason)).toEqual([
      'not JSON',
      'StructuredMessage without body',
    ]);
    expect(JSON.stringify(ctx.logs)).not.toContain('secret');
    const e = entry('still works');
    const p = send(e);
    await flush();
    s.echo();
    expect((await p).kind).toBe('delivered');
  });
});

describe('guestTransport send', () => {
  it('sends onMessage with tracingId = entry id and is delivered only on the echo', async () => {
    const s = await startReady();
    const e = entry('Hello', { metadata: { order: '42' } });
    let settled = false;
    const p = send(e).then((o) => {
      settled = true;
      return o;
    });
    await flush();
    expect(s.lastSent('onMessage')).toEqual({
      action: 'onMessage',
      token: s.lastSent('configureSession').token,
      tracingId: e.id,
      message: {
        type: 'Text',
        text: 'Hello',
        channel: { metadata: { customAttributes: { order: '42' } } },
      },
    });
    expect(settled).toBe(false);
    s.echo('srv-9', '2024-05-01T12:00:01.500Z');
    expect(await p).toEqual({
      kind: 'delivered',
      serverId: 'srv-9',
      serverTime: Date.parse('2024-05-01T12:00:01.500Z'),
    });
    // The guest's own line is written by the outbox from the outcome, not here as well.
    expect(ctx.records.filter((r) => r.key === e.id)).toEqual([]);
  });

  it('returns offline at once while the socket is down (reconnect pending)', async () => {
    const s = await startReady();
    s.drop();
    await flush();
    const o = await send(entry('x'));
    expect(o).toMatchObject({ kind: 'offline', error: { code: 'network' } });
  });

  it('waits a bounded time for a connection in progress', async () => {
    transport = make({ connectWaitMs: 1000 });
    await startTransport(transport, ctx);
    const p = send(entry('x'));
    await clock.advance(1000);
    expect(await p).toMatchObject({ kind: 'offline' });
  });

  it('rejects custom attributes over maxCustomDataBytes before sending anything', async () => {
    const s = await startReady({}, { maxCustomDataBytes: 20 });
    const o = await send(entry('x', { metadata: { k: 'é'.repeat(8) } })); // {"k":"éééééééé"} = 24 bytes
    expect(o).toMatchObject({ kind: 'rejected', error: { code: 'custom-data-too-large' } });
    expect(s.actions()).not.toContain('onMessage');
  });

  it('rejects an entry of another conversation', async () => {
    await startReady();
    expect(await send(entry('x', { conversationId: 'other' }))).toMatchObject({
      kind: 'rejected',
      error: { code: 'invalid-conversation-id' },
    });
  });

  it.each([
    [4011, 'rejected', 'message-too-long'],
    [4013, 'rejected', 'rejected'],
    [4020, 'rejected', 'rejected'],
    [4001, 'rejected', 'rejected'],
    [400, 'rejected', 'rejected'],
    [5000, 'retry', 'server-error'],
  ])('guest error %i without tracingId → %s (%s)', async (code, kind, errorCode) => {
    const s = await startReady();
    const p = send(entry('x'));
    await flush();
    s.push({ type: 'response', class: 'string', code, body: 'nope' });
    expect(await p).toMatchObject({ kind, error: { code: errorCode, status: code } });
  });

  it('429 → rate-limited for retryAfter, and the next send waits that long', async () => {
    const s = await startReady();
    const first = entry('x');
    const p = send(first);
    await flush();
    s.push({
      type: 'response',
      class: 'TooManyRequestsErrorMessage',
      code: 429,
      tracingId: first.id,
      body: {
        retryAfter: 3,
        errorCode: 4029,
        errorMessage: 'Message rate too high for this session',
      },
    });
    expect(await p).toMatchObject({
      kind: 'rate-limited',
      retryAfterMs: 3000,
      error: { code: 'rate-limited' },
    });
    const n = s.actions().length;
    const q = send(first);
    await clock.advance(2999);
    expect(s.actions().length).toBe(n);
    await clock.advance(1);
    expect(s.actions()[n]).toBe('onMessage');
    s.echo();
    expect((await q).kind).toBe('delivered');
  });

  it.each([4006, 4007])('%i → configures the session again and resends at once', async (code) => {
    const s = await startReady();
    const e = entry('x');
    const p = send(e);
    await flush();
    s.push({ type: 'response', class: 'string', code, tracingId: e.id, body: 'Session not found' });
    await flush();
    expect(s.actions().slice(-1)).toEqual(['configureSession']);
    s.session({ newSession: false });
    await flush();
    expect(s.actions().slice(-1)).toEqual(['onMessage']);
    s.echo();
    expect((await p).kind).toBe('delivered');
  });

  it('4007 twice → reauth outcome (the dispatcher decides what next)', async () => {
    const s = await startReady();
    const e = entry('x');
    const p = send(e);
    await flush();
    s.push({ type: 'response', class: 'string', code: 4007, body: 'Session not found' });
    await flush();
    s.session();
    await flush();
    s.push({ type: 'response', class: 'string', code: 4007, body: 'Session not found' });
    expect(await p).toMatchObject({ kind: 'reauth', error: { code: 'session-expired' } });
  });

  it('paces onMessage: never more than messagesPerSecond per rolling second', async () => {
    const s = await startReady({ messagesPerSecond: 2 });
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const p = send(entry(`m${i}`));
      await flush();
      for (
        let k = 0;
        k < 300 &&
        !s.sent.some(
          (f) => f.action === 'onMessage' && (f.message as { text: string }).text === `m${i}`,
        );
        k++
      ) {
        await clock.advance(10);
      }
      times.push(clock.now());
      s.echo(`srv-${i}`);
      expect((await p).kind).toBe('delivered');
    }
    const t0 = times[0] ?? 0;
    expect(times.map((t) => t - t0)).toEqual([0, 0, 1100, 1100, 2200]);
  });

  it('a send still waiting for its pace slot when the outbox closes is offline, not in doubt', async () => {
    const s = await startReady({ messagesPerSecond: 1 });
    const first = send(entry('one'));
    await flush();
    s.echo();
    expect((await first).kind).toBe('delivered');
    const second = send(entry('two'));
    await flush();
    ctx.abort.abort();
    expect(await second).toMatchObject({ kind: 'offline' });
    expect(s.sent.filter((f) => f.action === 'onMessage').length).toBe(1);
  });

  it('readOnly session → conversation-ended, unless startNew', async () => {
    await startReady({}, { readOnly: true });
    expect(await send(entry('x'))).toMatchObject({
      kind: 'rejected',
      error: { code: 'conversation-ended' },
    });
  });

  it('readOnly session with startNew → closeSession, then configureSession startNew:true, then sends', async () => {
    const s = await startReady({ startNew: true }, { readOnly: true });
    const p = send(entry('x'));
    await flush();
    // As Genesys' SDK: the session is closed first (MessagingClientConversationDisconnectTest).
    expect(s.lastSent('closeSession')).toMatchObject({ closeAllConnections: true });
    expect(s.actions().slice(-1)).toEqual(['closeSession']);
    s.push({
      type: 'response',
      class: 'SessionResponse',
      code: 200,
      tracingId: s.lastSent('closeSession').tracingId,
      body: { connected: false, readOnly: true },
    });
    await flush();
    expect(s.lastSent('configureSession')).toMatchObject({ startNew: true });
    s.session({ readOnly: false, newSession: true });
    await flush();
    s.echo();
    expect((await p).kind).toBe('delivered');
  });

  it('a Disconnect with metadata.readOnly "false" (or none) is recorded, and the guest may keep writing', async () => {
    for (const metadata of [{ readOnly: 'false' }, undefined]) {
      const s = await startReady();
      s.push({
        type: 'message',
        class: 'StructuredMessage',
        code: 200,
        body: {
          id: `d-${String(metadata?.readOnly)}`,
          direction: 'Outbound',
          type: 'Event',
          events: [{ eventType: 'Presence', presence: { type: 'Disconnect' } }],
          channel: { time: '2024-05-01T12:00:06.000Z', type: 'Private' },
          ...(metadata ? { metadata } : {}),
        },
      });
      await flush();
      expect(ctx.records.at(-1)).toMatchObject({ event: 'Presence:Disconnect' });
      const p = send(entry('still writable'));
      await flush();
      s.echo();
      expect((await p).kind).toBe('delivered');
      await transport.close?.();
    }
  });

  it('agent messages and a Presence Disconnect are recorded; after Disconnect sends fail conversation-ended', async () => {
    const s = await startReady();
    s.push({
      type: 'message',
      class: 'StructuredMessage',
      code: 200,
      body: {
        id: 'a1',
        direction: 'Outbound',
        type: 'Text',
        text: 'Hi',
        originatingEntity: 'Human',
        channel: { time: '2024-05-01T12:00:05.000Z' },
      },
    });
    s.push({
      type: 'message',
      class: 'StructuredMessage',
      code: 200,
      body: {
        id: 'd1',
        direction: 'Outbound',
        type: 'Event',
        events: [{ eventType: 'Presence', presence: { type: 'Disconnect' } }],
        channel: { time: '2024-05-01T12:00:06.000Z' },
        metadata: { readOnly: 'true' },
      },
    });
    await flush();
    expect([...ctx.records].sort((a, b) => a.time - b.time)).toEqual([
      {
        key: 'a1',
        conversationId: 'default',
        direction: 'Outbound',
        text: 'Hi',
        time: Date.parse('2024-05-01T12:00:05.000Z'),
        serverId: 'a1',
        originatingEntity: 'Human',
      },
      {
        key: 'd1',
        conversationId: 'default',
        direction: 'Outbound',
        text: '',
        time: Date.parse('2024-05-01T12:00:06.000Z'),
        event: 'Presence:Disconnect',
      },
    ]);
    expect(await send(entry('x'))).toMatchObject({
      kind: 'rejected',
      error: { code: 'conversation-ended' },
    });
  });

  it('a SessionExpiredEvent makes it configure the session again', async () => {
    const s = await startReady();
    s.push({ type: 'message', class: 'SessionExpiredEvent', code: 200, body: {} });
    await flush();
    expect(s.actions().filter((a) => a === 'configureSession').length).toBe(2);
  });
});

describe('guestTransport in-doubt reconciliation', () => {
  it('drop while awaiting the echo → retry in-doubt', async () => {
    const s = await startReady();
    const p = send(entry('x'));
    await flush();
    s.drop();
    expect(await p).toMatchObject({ kind: 'retry', error: { code: 'in-doubt' } });
  });

  async function inDoubtSetup(
    entities: unknown[],
  ): Promise<{ s: FakeSocket; e: OutboxEntry; p: Promise<SendOutcome> }> {
    const s = await startReady();
    const e = entry('are you there?');
    const first = send(e);
    await flush();
    s.drop();
    await first;
    await clock.advance(50);
    const s2 = FakeSocket.last;
    s2.open();
    await flush();
    s2.session({ newSession: false });
    await flush();
    hist.entities = entities.map((x) =>
      typeof x === 'function' ? (x as (e: OutboxEntry) => unknown)(e) : x,
    );
    hist.calls = [];
    const p = send(e, true);
    await flush();
    s2.jwt();
    await flush(10);
    return { s: s2, e, p };
  }

  it('found in history → delivered without resending', async () => {
    const { s, e, p } = await inDoubtSetup([
      {
        id: 'srv-a',
        direction: 'Inbound',
        type: 'Text',
        text: 'are you there?',
        channel: { time: new Date(clock.now()).toISOString() },
      },
    ]);
    expect(await p).toMatchObject({ kind: 'delivered', serverId: 'srv-a' });
    expect(s.actions()).not.toContain('onMessage');
    expect(ctx.records.filter((r) => r.key === e.id)).toEqual([]);
  });

  it('not found → resent', async () => {
    const { s, p } = await inDoubtSetup([
      {
        id: 'srv-b',
        direction: 'Inbound',
        type: 'Text',
        text: 'something else',
        channel: { time: new Date(clock.now()).toISOString() },
      },
    ]);
    await flush();
    expect(s.actions()).toContain('onMessage');
    s.echo('srv-c');
    expect(await p).toMatchObject({ kind: 'delivered', serverId: 'srv-c' });
  });

  it('a copy claimed by another local entry is not a match', async () => {
    await ctx.store.putTranscript([
      {
        key: 'earlier',
        conversationId: 'default',
        direction: 'Inbound',
        text: 'are you there?',
        time: clock.now(),
        status: 'sent',
        serverId: 'srv-old',
      },
    ]);
    const { s, p } = await inDoubtSetup([
      {
        id: 'srv-old',
        direction: 'Inbound',
        type: 'Text',
        text: 'are you there?',
        channel: { time: new Date(clock.now()).toISOString() },
      },
    ]);
    await flush();
    expect(s.actions()).toContain('onMessage');
    s.echo('srv-new');
    expect(await p).toMatchObject({ kind: 'delivered', serverId: 'srv-new' });
  });

  it('history failure → retry in-doubt, nothing resent', async () => {
    const s = await startReady();
    const e = entry('x');
    hist.status = 503;
    const p = send(e, true);
    await flush();
    s.jwt();
    expect(await p).toMatchObject({ kind: 'retry', error: { code: 'in-doubt' } });
    expect(s.actions()).not.toContain('onMessage');
  });

  it('an echo that arrives late settles the next attempt as delivered', async () => {
    const s = await startReady({ echoTimeoutMs: 1000 });
    const e = entry('slow');
    const p = send(e);
    await clock.advance(1000);
    expect(await p).toMatchObject({ kind: 'retry', error: { code: 'in-doubt' } });
    // the timeout dropped that socket; the echo comes on the new one after resuming
    await clock.advance(50);
    const s2 = FakeSocket.last;
    expect(s2).not.toBe(s);
    s2.open();
    await flush();
    s2.session({ newSession: false });
    await flush();
    s2.push({
      type: 'message',
      class: 'StructuredMessage',
      code: 200,
      tracingId: e.id,
      body: {
        id: 'srv-late',
        direction: 'Inbound',
        type: 'Text',
        text: 'slow',
        channel: { time: '2024-05-01T12:00:09.000Z' },
      },
    });
    await flush();
    expect(await send(e, true)).toMatchObject({ kind: 'delivered', serverId: 'srv-late' });
    expect(s2.actions()).not.toContain('onMessage');
  });
});

describe('guestTransport history sync', () => {
  it('records agent messages missed while offline, once, ordered by time', async () => {
    hist.entities = [
      {
        id: 'a3',
        direction: 'Outbound',
        type: 'Text',
        text: 'three',
        originatingEntity: 'Human',
        channel: { time: '2024-05-01T12:00:03.000Z' },
      },
      {
        id: 'g1',
        direction: 'Inbound',
        type: 'Text',
        text: 'mine',
        channel: { time: '2024-05-01T12:00:02.500Z' },
      },
      {
        id: 'a1',
        direction: 'Outbound',
        type: 'Text',
        text: 'one',
        originatingEntity: 'Bot',
        channel: { time: '2024-05-01T12:00:01.000Z' },
      },
      {
        id: 'a2',
        direction: 'Outbound',
        type: 'Text',
        text: 'two',
        originatingEntity: 'Human',
        channel: { time: '2024-05-01T12:00:02.000Z' },
      },
    ];
    const s = await startReady();
    expect(ctx.records.map((r) => r.key)).toEqual(['a1', 'a2', 'a3']);
    await reconnectAndSync(s); // the history is read again: nothing recorded twice
    expect(hist.calls.length).toBe(2);
    expect(ctx.records.map((r) => r.key)).toEqual(['a1', 'a2', 'a3']);
    const lines = await ctx.store.listTranscript('default');
    expect(lines.map((l) => l.text)).toEqual(['one', 'two', 'three']);
  });

  it('a missed message whose line could not be written is recorded by the next sync', async () => {
    hist.entities = [
      {
        id: 'a1',
        direction: 'Outbound',
        type: 'Text',
        text: 'one',
        originatingEntity: 'Human',
        channel: { time: '2024-05-01T12:00:01.000Z' },
      },
    ];
    const write = ctx.recordTranscript;
    let failures = 1;
    ctx.recordTranscript = (records) =>
      failures-- > 0 ? Promise.reject(new Error('disk full')) : write(records);
    const s = await startReady();
    expect(ctx.records).toEqual([]);
    expect(ctx.logs.some((l) => l.message === 'guest: transcript write failed')).toBe(true);
    await reconnectAndSync(s);
    expect(hist.calls.length).toBe(2);
    expect(ctx.records.map((r) => r.key)).toEqual(['a1']);
  });
});

describe('guestTransport as Genesys SDK sees the session (issue 11)', () => {
  const closedEvent = (body: Record<string, unknown> = {}) => ({
    type: 'message',
    class: 'ConnectionClosedEvent',
    code: 200,
    body,
  });
  const tokenKey = `guest.sessionToken:${DEPLOYMENT}`;

  it.each([
    ['no reason', [closedEvent()], 'session-limit', false],
    ['signedIn', [closedEvent({ reason: 'signedIn' })], 'signed-in', true],
    [
      'after SessionClearedEvent',
      [{ type: 'message', class: 'SessionClearedEvent', code: 200, body: {} }, closedEvent()],
      'conversation-cleared',
      false,
    ],
    [
      'LogoutEvent',
      [{ type: 'message', class: 'LogoutEvent', code: 200, body: {} }],
      'logout',
      true,
    ],
  ])(
    'ConnectionClosedEvent / LogoutEvent (%s): stops, never reconnects, tells why',
    async (_name, pushed, reason, discardsToken) => {
      const s = await startReady();
      const token = await ctx.store.getMeta(tokenKey);
      const sockets = FakeSocket.all.length;
      for (const f of pushed) s.push(f);
      await flush();
      expect(ctx.events).toEqual([{ type: 'session-closed', reason }]);
      expect(s.closed).toBe(true);
      transport.resume?.(); // coming online must not take the session back either
      await clock.advance(120_000);
      expect(FakeSocket.all.length).toBe(sockets);
      expect(await send(entry('x'))).toEqual({
        kind: 'offline',
        error: { code: 'session-closed', message: reason },
      });
      const after = await ctx.store.getMeta(tokenKey);
      if (discardsToken) expect(after).not.toBe(token);
      else expect(after).toBe(token);
    },
  );

  it('SessionExpiredEvent (sent as a response) configures again with the same token', async () => {
    const s = await startReady();
    const before = s.sent.filter((f) => f.action === 'configureSession').length;
    s.push({ type: 'response', class: 'SessionExpiredEvent', code: 200, body: {} });
    await flush();
    const configures = s.sent.filter((f) => f.action === 'configureSession');
    expect(configures.length).toBe(before + 1);
    expect(configures.at(-1)?.token).toBe(configures[0]?.token);
    expect(ctx.events).toEqual([]);
  });

  it('the health echo goes 30 s after the last traffic, not 30 s after the last check', async () => {
    const s = await startReady();
    await clock.advance(20_000);
    s.push({ type: 'message', class: 'SessionClearedEvent', code: 200, body: {} }); // traffic
    const before = s.actions().length;
    await clock.advance(29_999);
    expect(s.actions().length).toBe(before);
    await clock.advance(1);
    expect(s.actions().slice(before)).toEqual(['echo']);
  });

  it('an unanswered getJwt does not hold a send', async () => {
    transport = make();
    const s = await startTransport(transport, ctx);
    s.open();
    await flush();
    s.session();
    await flush();
    expect(s.actions()).toEqual(['configureSession', 'getJwt']); // the history sync; never answered
    const e = entry('not held');
    const p = send(e);
    await flush();
    expect(s.actions()).toEqual(['configureSession', 'getJwt', 'onMessage']);
    s.echo();
    expect((await p).kind).toBe('delivered');
  });

  it('an in-doubt entry is reconciled against the read-only conversation before startNew', async () => {
    const s = await startReady({ startNew: true }, { readOnly: true });
    const e = entry('sent before the disconnect');
    hist.entities = [
      {
        id: 'srv-old',
        direction: 'Inbound',
        type: 'Text',
        text: e.text,
        channel: { time: new Date(clock.now()).toISOString() },
      },
    ];
    const p = transport.send(e, {
      signal: ctx.signal,
      attempt: 2,
      inDoubt: true,
      inDoubtSince: clock.now(),
    });
    await flush(20);
    expect(await p).toMatchObject({ kind: 'delivered', serverId: 'srv-old' });
    expect(s.actions()).not.toContain('closeSession');
  });
});
