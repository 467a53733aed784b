import { describe, expect, it } from 'vitest';
import { parseFrame, parseMessage, type GuestMessage } from '../../src/transport/guest/frames.js';
import { matchInDoubt } from '../../src/transport/guest/reconcile.js';
import { paceDelay } from '../../src/transport/guest/pacer.js';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();

function h(
  id: string,
  text: string,
  time: number,
  direction: 'Inbound' | 'Outbound' = 'Inbound',
): GuestMessage {
  return { id, text, time, direction, type: 'Text', disconnect: false, readOnly: false };
}

describe('parseFrame', () => {
  it('reads a SessionResponse', () => {
    const f = parseFrame(
      JSON.stringify({
        type: 'response',
        class: 'SessionResponse',
        code: 200,
        tracingId: 't1',
        body: { connected: true, newSession: true, readOnly: false, maxCustomDataBytes: 1024 },
      }),
    );
    expect(f).toEqual({
      kind: 'session',
      type: 'response',
      tracingId: 't1',
      readOnly: false,
      newSession: true,
      maxCustomDataBytes: 1024,
    });
  });

  it('reads the echo of a guest message', () => {
    const f = parseFrame(
      JSON.stringify({
        type: 'message',
        class: 'StructuredMessage',
        code: 200,
        tracingId: 'e1',
        body: {
          text: 'Hello',
          direction: 'Inbound',
          id: 's1',
          type: 'Text',
          channel: { time: '2022-08-22T19:24:26.704Z', messageId: 'm1' },
          metadata: { correlationId: 'c' },
        },
      }),
    );
    expect(f).toEqual({
      kind: 'structured',
      type: 'message',
      tracingId: 'e1',
      message: {
        id: 's1',
        direction: 'Inbound',
        type: 'Text',
        text: 'Hello',
        time: Date.parse('2022-08-22T19:24:26.704Z'),
        disconnect: false,
        readOnly: false,
      },
    });
  });

  it('reads an agent message and a Presence Disconnect event', () => {
    const agent = parseFrame(
      JSON.stringify({
        type: 'message',
        class: 'StructuredMessage',
        code: 200,
        body: {
          id: 'a1',
          direction: 'Outbound',
          type: 'Text',
          text: 'Hi',
          originatingEntity: 'Human',
          channel: { time: iso(T0) },
        },
      }),
    );
    expect(agent).toMatchObject({
      kind: 'structured',
      tracingId: undefined,
      message: { id: 'a1', originatingEntity: 'Human', time: T0 },
    });
    const bye = parseFrame(
      JSON.stringify({
        type: 'message',
        class: 'StructuredMessage',
        code: 200,
        body: {
          id: 'd1',
          direction: 'Outbound',
          type: 'Event',
          events: [{ eventType: 'Presence', presence: { type: 'Disconnect' } }],
          channel: { time: iso(T0) },
        },
      }),
    );
    expect(bye).toMatchObject({
      kind: 'structured',
      message: { type: 'Event', disconnect: true, text: '' },
    });
  });

  it('reads error frames: string class, TooManyRequests, any non-2xx code', () => {
    expect(
      parseFrame('{"type":"response","class":"string","code":4007,"body":"Session not found"}'),
    ).toEqual({
      kind: 'error',
      type: 'response',
      tracingId: undefined,
      code: 4007,
      body: 'Session not found',
    });
    expect(
      parseFrame(
        JSON.stringify({
          type: 'response',
          class: 'TooManyRequestsErrorMessage',
          code: 429,
          tracingId: 'x',
          body: {
            retryAfter: 3,
            errorCode: 4029,
            errorMessage: 'Message rate too high for this session',
          },
        }),
      ),
    ).toMatchObject({ kind: 'error', code: 429, tracingId: 'x', body: { retryAfter: 3 } });
    expect(
      parseFrame('{"type":"response","class":"SessionResponse","code":500,"body":{}}'),
    ).toMatchObject({
      kind: 'error',
      code: 500,
    });
  });

  it('reads JWT responses and session events', () => {
    expect(
      parseFrame(
        '{"type":"response","class":"JwtResponse","code":200,"body":{"jwt":"j","exp":17}}',
      ),
    ).toEqual({
      kind: 'jwt',
      type: 'response',
      tracingId: undefined,
      jwt: 'j',
      exp: 17,
    });
    expect(
      parseFrame('{"type":"message","class":"SessionExpiredEvent","code":200,"body":{}}'),
    ).toMatchObject({
      kind: 'event',
      name: 'SessionExpiredEvent',
    });
  });

  it('reports malformed frames with a reason that carries no message text', () => {
    expect(parseFrame('not json secret')).toEqual({ kind: 'malformed', reason: 'not JSON' });
    expect(parseFrame('[1]')).toEqual({ kind: 'malformed', reason: 'not an object' });
    expect(parseFrame('{"type":"message","code":200}')).toEqual({
      kind: 'malformed',
      reason: 'missing class',
    });
    // A class this client does not act on is not malformed (Genesys adds classes).
    expect(parseFrame('{"type":"message","class":"Nope","code":200}')).toEqual({
      tracingId: undefined,
      type: 'message',
      kind: 'other',
      name: 'Nope',
    });
    expect(parseFrame('{"type":"message","class":"StructuredMessage","code":200}')).toEqual({
      kind: 'malformed',
      reason: 'StructuredMessage without body',
    });
    expect(
      parseFrame('{"type":"x","class":"StructuredMessage","code":200,"body":{"text":"secret"}}'),
    ).toEqual({
      kind: 'malformed',
      reason: 'bad type (StructuredMessage)',
    });
    expect(
      parseFrame(new TextEncoder().encode('{"type":"message","class":"LogoutEvent","code":200}')),
    ).toMatchObject({
      kind: 'event',
      name: 'LogoutEvent',
    });
  });

  it('parseMessage tolerates missing fields', () => {
    expect(parseMessage({})).toEqual({
      id: '',
      direction: undefined,
      type: 'Text',
      text: '',
      time: NaN,
      disconnect: false,
      readOnly: false,
    });
    expect(parseMessage('x')).toBeUndefined();
  });
});

describe('matchInDoubt', () => {
  const opts = { claimed: new Set<string>(), skewMs: 60_000, now: T0 + 600_000 };

  it('finds an entry by exact text, Inbound, within the time window', () => {
    const m = matchInDoubt(
      [{ id: 'e1', text: 'hello', createdAt: T0 }],
      [
        h('a', 'hello', T0 + 1000, 'Outbound'),
        h('b', 'Hello', T0 + 1000),
        h('c', 'hello', T0 + 2000),
      ],
      opts,
    );
    expect([...m].map(([k, v]) => [k, v.id])).toEqual([['e1', 'c']]);
  });

  it('ignores messages older than createdAt - skew, newer than now + skew, or claimed', () => {
    const history = [
      h('old', 'x', T0 - 60_001),
      h('claimed', 'x', T0 + 5),
      h('future', 'x', T0 + 660_001),
    ];
    const m = matchInDoubt([{ id: 'e1', text: 'x', createdAt: T0 }], history, {
      ...opts,
      claimed: new Set(['claimed']),
    });
    expect(m.size).toBe(0);
    const edge = matchInDoubt(
      [{ id: 'e1', text: 'x', createdAt: T0 }],
      [h('edge', 'x', T0 - 60_000)],
      opts,
    );
    expect(edge.get('e1')?.id).toBe('edge');
  });

  it('maps identical texts one to one, oldest to oldest (history is newest first)', () => {
    const m = matchInDoubt(
      [
        { id: 'second', text: 'ok', createdAt: T0 + 10 },
        { id: 'first', text: 'ok', createdAt: T0 },
      ],
      [h('s2', 'ok', T0 + 3000), h('s1', 'ok', T0 + 2000)],
      opts,
    );
    expect(m.get('first')?.id).toBe('s1');
    expect(m.get('second')?.id).toBe('s2');
  });

  it('with fewer copies found than entries in doubt, the earliest entry counts as delivered', () => {
    const m = matchInDoubt(
      [
        { id: 'first', text: 'ok', createdAt: T0 },
        { id: 'second', text: 'ok', createdAt: T0 + 10 },
      ],
      [h('only', 'ok', T0 + 2000)],
      opts,
    );
    expect([...m.keys()]).toEqual(['first']);
  });

  it('equal times keep page order reversed (oldest first) and ignore unparseable times', () => {
    const m = matchInDoubt(
      [{ id: 'e1', text: 'ok', createdAt: T0 }],
      [h('newer', 'ok', T0 + 1), h('older', 'ok', T0 + 1), h('nan', 'ok', NaN)],
      opts,
    );
    expect(m.get('e1')?.id).toBe('older');
  });
});

describe('paceDelay', () => {
  it('allows perWindow sends, then waits until the oldest leaves the window', () => {
    expect(paceDelay([], 0, 2, 1000)).toBe(0);
    expect(paceDelay([0], 10, 2, 1000)).toBe(0);
    expect(paceDelay([0, 10], 500, 2, 1000)).toBe(500);
    expect(paceDelay([0, 10], 999, 2, 1000)).toBe(1);
    expect(paceDelay([0, 10], 1000, 2, 1000)).toBe(0);
    expect(paceDelay([0, 10], 1010, 2, 1000)).toBe(0);
    expect(paceDelay([0, 10, 20], 30, 3, 1100)).toBe(1070);
  });

  it('honours a server retryAfter', () => {
    expect(paceDelay([], 100, 2, 1000, 3100)).toBe(3000);
    expect(paceDelay([0, 10], 500, 2, 1000, 400)).toBe(500);
  });

  it('never lets more than perWindow sends into any window when followed', () => {
    const sent: number[] = [];
    let t = 0;
    for (let i = 0; i < 20; i++) {
      t += paceDelay(sent, t, 2, 1000);
      sent.push(t);
      t += 7; // each send takes a little time
    }
    for (const s of sent)
      expect(sent.filter((x) => x >= s && x < s + 1000).length).toBeLessThanOrEqual(2);
  });
});
