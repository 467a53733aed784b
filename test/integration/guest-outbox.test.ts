// End to end: createOutbox + guestTransport + the simulator over real WebSockets.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { createOutbox, type Outbox } from '../../src/outbox/createOutbox.js';
import type { OutboxEvent } from '../../src/outbox/events.js';
import { silentLogger } from '../../src/internal/logger.js';
import { memoryStore } from '../../src/store/memory.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import { guestTransport, type GuestTransportOptions } from '../../src/transport/guest.js';
import { count429, recordingWebSocket, survivingStore, waitFor } from './guest-helpers.js';

const DEPLOYMENT = 'sim-deployment';
let sim: Simulator;
let frames: string[];
let outbox: Outbox | undefined;
let events: OutboxEvent[];

async function open(
  store: OutboxStore,
  extra: Partial<GuestTransportOptions> = {},
): Promise<Outbox> {
  const transport = guestTransport({
    webSocketUrl: sim.wsUrl,
    apiBaseUrl: sim.url,
    deploymentId: DEPLOYMENT,
    WebSocket: recordingWebSocket(frames),
    reconnect: { baseDelayMs: 20, maxDelayMs: 200 },
    ...extra,
  });
  outbox = await createOutbox({
    transport,
    store,
    coordinator: false,
    retry: { baseDelayMs: 50, maxDelayMs: 300 },
    logger: silentLogger,
  });
  outbox.subscribe((e) => events.push(e));
  return outbox;
}

const session = () => sim.control.sessions()[0];
const guestTexts = (): string[] =>
  (session()?.messages ?? []).filter((m) => m.direction === 'Inbound').map((m) => m.text ?? '');

beforeEach(async () => {
  sim = await startSimulator({ port: 0 });
  frames = [];
  events = [];
});

afterEach(async () => {
  await outbox?.close();
  outbox = undefined;
  await sim.close();
});

describe('outbox + guest transport + simulator', () => {
  it('a delivered message gets one transcript line with the server id and time, and one sent event', async () => {
    const ob = await open(memoryStore());
    const e = await ob.send({ text: 'Hello agent' });
    await ob.whenSettled(e.id);
    const stored = session()?.messages.find((m) => m.tracingId === e.id);
    const lines = (await ob.transcript.list()).filter((r) => r.key === e.id);
    expect(lines).toEqual([
      {
        key: e.id,
        conversationId: 'default',
        direction: 'Inbound',
        text: 'Hello agent',
        time: Date.parse(stored?.time ?? ''),
        order: expect.any(Number) as number, // its place, fixed at send (rule 13)
        status: 'sent',
        serverId: stored?.id,
      },
    ]);
    const lineEvents = events.filter((x) => x.type === 'transcript' && x.record.key === e.id);
    expect(lineEvents).toHaveLength(1);
  });

  it(
    '30 messages typed during an outage: delivered once each, in order, zero 429 frames',
    { timeout: 60_000 },
    async () => {
      const ob = await open(memoryStore());
      await waitFor(() => session()?.connections === 1, 'the first session');
      await sim.control.outage('refuse');
      const texts = Array.from({ length: 30 }, (_, i) => `message ${i + 1}`);
      const entries = [];
      for (const text of texts) entries.push(await ob.send({ text }));
      await sim.control.outage(false);
      const settled = await Promise.all(entries.map((e) => ob.whenSettled(e.id)));
      expect(settled.map((e) => e.status)).toEqual(texts.map(() => 'sent'));
      expect(guestTexts()).toEqual(texts);
      expect(count429(frames)).toBe(0);
      expect(await ob.list()).toEqual([]);
    },
  );

  it('drop after accept: exactly one copy in the agent view', async () => {
    const ob = await open(memoryStore());
    const token = await waitFor(() => session()?.token, 'the session');
    sim.control.dropSocket(token, 'after-accept');
    const e = await ob.send({ text: 'exactly once please' });
    expect((await ob.whenSettled(e.id)).status).toBe('sent');
    const next = await ob.send({ text: 'and the next one' });
    expect((await ob.whenSettled(next.id)).status).toBe('sent');
    expect(guestTexts()).toEqual(['exactly once please', 'and the next one']);
  });

  it('drop before accept: delivered after the reconnect, once', async () => {
    const ob = await open(memoryStore());
    const token = await waitFor(() => session()?.token, 'the session');
    sim.control.dropSocket(token, 'before-accept');
    const e = await ob.send({ text: 'lost on the wire' });
    expect((await ob.whenSettled(e.id)).status).toBe('sent');
    expect(guestTexts()).toEqual(['lost on the wire']);
  });

  it('session expiry: configured again, nothing lost', async () => {
    const store = memoryStore();
    const ob = await open(store);
    const token = await waitFor(() => session()?.token, 'the session');
    const a = await ob.send({ text: 'one' });
    await ob.whenSettled(a.id);
    sim.control.expireSession(token);
    const rest = [];
    for (const text of ['two', 'three']) rest.push(await ob.send({ text }));
    const settled = await Promise.all(rest.map((e) => ob.whenSettled(e.id)));
    expect(settled.map((e) => e.status)).toEqual(['sent', 'sent']);
    const s = session();
    const all = [
      ...(s?.previousConversations.flatMap((c) => c.messages) ?? []),
      ...(s?.messages ?? []),
    ];
    expect(all.filter((m) => m.direction === 'Inbound').map((m) => m.text)).toEqual([
      'one',
      'two',
      'three',
    ]);
    // The transcript marks where the new Genesys conversation begins: between 'one' and 'two'.
    const lines = (await store.listTranscript('default')).map((r) => r.event ?? r.text);
    expect(lines.filter((l) => ['one', 'two', 'three', 'Conversation:New'].includes(l))).toEqual([
      'one',
      'Conversation:New',
      'two',
      'three',
    ]);
  });

  it('close and reopen on the same store: same session token and conversation', async () => {
    const store = survivingStore(memoryStore());
    let ob = await open(store);
    const a = await ob.send({ text: 'before reload' });
    await ob.whenSettled(a.id);
    const token = await store.getMeta(`guest.sessionToken:${DEPLOYMENT}`);
    const conversationId = session()?.conversationId;
    await ob.close();

    ob = await open(store);
    const b = await ob.send({ text: 'after reload' });
    expect((await ob.whenSettled(b.id)).status).toBe('sent');
    expect(await store.getMeta(`guest.sessionToken:${DEPLOYMENT}`)).toBe(token);
    expect(sim.control.sessions().map((s) => [s.token, s.conversationId])).toEqual([
      [token, conversationId],
    ]);
    expect(guestTexts()).toEqual(['before reload', 'after reload']);
  });

  it('agent messages sent while the guest was offline appear after the reconnect, once, in order', async () => {
    const ob = await open(memoryStore());
    const token = await waitFor(() => session()?.token, 'the session');
    await sim.control.outage('refuse');
    await waitFor(() => session()?.connections === 0, 'the socket to drop');
    for (const text of ['are you there?', 'I will wait', 'bye for now']) {
      sim.control.agentMessage(token, text);
      sim.control.advanceClock(10);
    }
    await sim.control.outage(false);
    const agentLines = async () =>
      (await ob.transcript.list()).filter((r) => r.direction === 'Outbound').map((r) => r.text);
    await waitFor(async () => (await agentLines()).length >= 3, 'three agent lines');
    await new Promise((r) => setTimeout(r, 200)); // a late duplicate would show up here
    expect(await agentLines()).toEqual(['are you there?', 'I will wait', 'bye for now']);
    const keys = events
      .filter((e) => e.type === 'transcript')
      .map((e) => (e.type === 'transcript' ? e.record.key : ''));
    expect(keys.length).toBe(3); // one event per line: held frames and history do not repeat it
  });

  it('reordered frames do not reorder the transcript', async () => {
    const ob = await open(memoryStore());
    const token = await waitFor(() => session()?.token, 'the session');
    sim.control.reorderNextFrames(3);
    for (const text of ['a', 'b', 'c']) {
      sim.control.agentMessage(token, text);
      sim.control.advanceClock(10);
    }
    await waitFor(async () => (await ob.transcript.list()).length === 3, 'three lines');
    expect((await ob.transcript.list()).map((r) => r.text)).toEqual(['a', 'b', 'c']);
  });

  it('guest errors end in the documented outcome through the outbox', async () => {
    const ob = await open(memoryStore());
    await waitFor(() => session()?.token, 'the session');
    sim.control.failNextOnMessage(4011);
    const tooLong = await ob.send({ text: 'pretend this is long' });
    expect((await ob.whenSettled(tooLong.id)).lastError).toMatchObject({
      code: 'message-too-long',
      status: 4011,
    });
    sim.control.failNextOnMessage(4007);
    const again = await ob.send({ text: 'after a lost session' });
    expect((await ob.whenSettled(again.id)).status).toBe('sent');
    sim.control.failNextOnMessage(429, {
      retryAfter: 1,
      errorCode: 4029,
      errorMessage: 'Message rate too high for this session',
    });
    const limited = await ob.send({ text: 'rate limited once' });
    expect((await ob.whenSettled(limited.id)).status).toBe('sent');
    sim.control.failNextOnMessage(5000);
    const flaky = await ob.send({ text: 'server hiccup' });
    expect((await ob.whenSettled(flaky.id)).status).toBe('sent');
    expect(guestTexts()).toEqual(['after a lost session', 'rate limited once', 'server hiccup']);
    expect((await ob.list()).map((e) => [e.status, e.lastError?.code])).toEqual([
      ['failed', 'message-too-long'],
    ]);
  });
});
