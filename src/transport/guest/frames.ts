/**
 * Parsing of Web Messaging Guest API server frames (genesys-api.md §4). Pure: no I/O, no state.
 * Anything that does not fit is reported as `malformed` with a reason that never contains
 * message text, so callers can log it safely.
 */

/** A message as the guest API shows it, in a frame or in a history page. */
export interface GuestMessage {
  /** Server id (`body.id`); '' when absent. */
  id: string;
  /** `Inbound` = guest to Genesys, `Outbound` = agent/bot to guest; undefined when absent. */
  direction: 'Inbound' | 'Outbound' | undefined;
  /** `Text`, `Structured`, `Event`, … */
  type: string;
  text: string;
  /** Epoch ms of `channel.time`, NaN when absent or unparseable. */
  time: number;
  originatingEntity?: string;
  /** True for an `Event` carrying a Presence `Disconnect` (the agent ended the conversation). */
  disconnect: boolean;
  /**
   * `metadata.readOnly` is `"true"` (any case, as Genesys' SDK reads it): after a Disconnect the
   * guest may not write. `"false"` or absent (the deployment's `conversationDisconnect.type` is
   * `Send`): the guest may keep writing.
   */
  readOnly: boolean;
}

/** A server frame, classified. `tracingId` is the request's echoed id, when present. */
export type GuestFrame = { tracingId: string | undefined; type: 'response' | 'message' } & (
  | {
      kind: 'session';
      readOnly: boolean;
      newSession: boolean;
      maxCustomDataBytes: number | undefined;
    }
  | { kind: 'structured'; message: GuestMessage }
  | { kind: 'jwt'; jwt: string; exp: number }
  | { kind: 'error'; code: number; body: unknown }
  | {
      kind: 'event';
      name: 'SessionExpiredEvent' | 'SessionClearedEvent' | 'ConnectionClosedEvent' | 'LogoutEvent';
      /** `body.reason` (ConnectionClosedEvent: `"signedIn"`, else absent). */
      reason: string | undefined;
    }
  /** A class this text-only client does not act on (attachments, configuration, future ones). */
  | { kind: 'other'; name: string }
);

export type ParseResult = GuestFrame | { kind: 'malformed'; reason: string };

const EVENTS = new Set([
  'SessionExpiredEvent',
  'SessionClearedEvent',
  'ConnectionClosedEvent',
  'LogoutEvent',
]);

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Normalizes a StructuredMessage body or a history entity; undefined when it is not an object. */
export function parseMessage(body: unknown): GuestMessage | undefined {
  if (!isObj(body)) return undefined;
  const channel = isObj(body.channel) ? body.channel : {};
  const dir = body.direction;
  const time = Date.parse(str(channel.time) ?? '');
  const events = Array.isArray(body.events) ? body.events : [];
  const meta = isObj(body.metadata) ? body.metadata : {};
  const m: GuestMessage = {
    id: str(body.id) ?? '',
    direction: dir === 'Inbound' || dir === 'Outbound' ? dir : undefined,
    type: str(body.type) ?? 'Text',
    text: str(body.text) ?? '',
    time,
    disconnect: events.some(
      (e: unknown) =>
        isObj(e) &&
        e.eventType === 'Presence' &&
        isObj(e.presence) &&
        e.presence.type === 'Disconnect',
    ),
    readOnly: /^true$/i.test(str(meta.readOnly) ?? ''),
  };
  const who = str(body.originatingEntity);
  if (who !== undefined) m.originatingEntity = who;
  return m;
}

/** Classifies one frame as received (a string, or bytes from some WebSocket implementations). */
export function parseFrame(data: unknown): ParseResult {
  let raw: unknown = data;
  if (typeof raw !== 'string') {
    try {
      raw = new TextDecoder().decode(raw as ArrayBuffer);
    } catch {
      return { kind: 'malformed', reason: 'binary frame' };
    }
  }
  let f: unknown;
  try {
    f = JSON.parse(raw as string);
  } catch {
    return { kind: 'malformed', reason: 'not JSON' };
  }
  if (!isObj(f)) return { kind: 'malformed', reason: 'not an object' };
  const cls = f.class;
  const type = f.type;
  const code = typeof f.code === 'number' ? f.code : 200;
  if (typeof cls !== 'string') return { kind: 'malformed', reason: 'missing class' };
  if (type !== 'response' && type !== 'message')
    return { kind: 'malformed', reason: `bad type (${cls})` };
  const base = { tracingId: str(f.tracingId), type } as const;
  const body = f.body;
  if (code < 200 || code >= 300 || cls === 'string' || cls === 'TooManyRequestsErrorMessage') {
    return { ...base, kind: 'error', code, body };
  }
  if (cls === 'SessionResponse') {
    if (!isObj(body)) return { kind: 'malformed', reason: 'SessionResponse without body' };
    const max = body.maxCustomDataBytes;
    return {
      ...base,
      kind: 'session',
      readOnly: body.readOnly === true,
      newSession: body.newSession === true,
      maxCustomDataBytes: typeof max === 'number' && max > 0 ? max : undefined,
    };
  }
  if (cls === 'StructuredMessage') {
    const message = parseMessage(body);
    return message === undefined
      ? { kind: 'malformed', reason: 'StructuredMessage without body' }
      : { ...base, kind: 'structured', message };
  }
  if (cls === 'JwtResponse') {
    if (!isObj(body) || typeof body.jwt !== 'string')
      return { kind: 'malformed', reason: 'JwtResponse without jwt' };
    return {
      ...base,
      kind: 'jwt',
      jwt: body.jwt,
      exp: typeof body.exp === 'number' ? body.exp : 0,
    };
  }
  if (EVENTS.has(cls)) {
    const reason = isObj(body) ? str(body.reason) : undefined;
    return { ...base, kind: 'event', name: cls as 'LogoutEvent', reason };
  }
  return { ...base, kind: 'other', name: cls.slice(0, 60) };
}
