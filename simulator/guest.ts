import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { SimulatorContext } from './context.js';
import {
  errorFrame,
  eventFrame,
  FramePipeline,
  structuredMessageFrame,
  tooManyRequestsFrame,
  withTracing,
  type ServerFrame,
} from './guestFrames.js';
import {
  GuestSessions,
  newMessage,
  type GuestMessage,
  type GuestSession,
  type OriginatingEntity,
} from './guestSessions.js';
import { newHexId } from './ids.js';
import { JwtStore } from './jwt.js';
import { isRecord } from './respond.js';

/** `maxCustomDataBytes` announced in `SessionResponse` and enforced on custom attributes (4013). */
export const MAX_CUSTOM_DATA_BYTES = 2048;
/** The longest guest session token accepted (genesys-api.md §4). */
export const MAX_TOKEN_LENGTH = 2048;
/** The 403 text of a guest Typing event when the deployment does not show it (MG fixture). */
const TYPING_FORBIDDEN = 'Turn on the Feature Toggle or fix the configuration.';
/** The 403 text of a Presence Clear when the deployment does not allow it (MG fixture). */
const CLEAR_FORBIDDEN = 'Presence events Conversation Clear are not supported';

/** A message of a guest conversation, as `control.sessions()` lists it. */
export interface GuestMessageInfo {
  id: string;
  messageId: string;
  direction: 'Inbound' | 'Outbound';
  type: 'Text' | 'Structured' | 'Event';
  text?: string;
  content?: unknown[];
  /** ISO-8601 (`channel.time`). */
  time: string;
  originatingEntity?: OriginatingEntity;
  tracingId?: string;
  customAttributes?: Record<string, unknown>;
  events?: unknown[];
}

/** A guest session, as `control.sessions()` lists it: what the agent sees, in order. */
export interface GuestSessionInfo {
  token: string;
  deploymentId: string;
  conversationId: string;
  readOnly: boolean;
  expired: boolean;
  /** The guest cleared the conversation (Presence Clear) and has not configured a session since. */
  cleared: boolean;
  /** Open sockets that configured this session. */
  connections: number;
  /** Outbound frames waiting for the guest to reconnect. */
  heldFrames: number;
  messages: GuestMessageInfo[];
  previousConversations: Array<{ conversationId: string; messages: GuestMessageInfo[] }>;
}

interface Connection {
  ws: WebSocket;
  queryDeploymentId: string | null;
  session: GuestSession | undefined;
}

function info(message: GuestMessage): GuestMessageInfo {
  const out: GuestMessageInfo = {
    id: message.id,
    messageId: message.messageId,
    direction: message.direction,
    type: message.type,
    time: new Date(message.time).toISOString(),
  };
  if (message.text !== undefined) out.text = message.text;
  if (message.content !== undefined) out.content = message.content;
  if (message.originatingEntity !== undefined) out.originatingEntity = message.originatingEntity;
  if (message.tracingId !== undefined) out.tracingId = message.tracingId;
  if (message.customAttributes !== undefined) out.customAttributes = message.customAttributes;
  if (message.events !== undefined) out.events = message.events;
  return out;
}

/** `Join` / `Clear` (Presence) or `Typing` (`On`), as Genesys' SDK sends them; else undefined. */
function eventKind(event: unknown): 'Join' | 'Clear' | 'Typing' | undefined {
  if (!isRecord(event)) return undefined;
  if (event['eventType'] === 'Presence' && isRecord(event['presence'])) {
    const type = event['presence']['type'];
    return type === 'Join' || type === 'Clear' ? type : undefined;
  }
  if (event['eventType'] === 'Typing' && isRecord(event['typing'])) {
    return event['typing']['type'] === 'On' ? 'Typing' : undefined;
  }
  return undefined;
}

/** Body text of an injected error frame when the test gives none. */
function defaultErrorText(code: number): string {
  switch (code) {
    case 4006:
      return 'Session has expired.';
    case 4007:
      return 'Session not found.';
    case 4011:
      return 'Message exceeded the maximum length.';
    case 4013:
      return `Custom Attributes in channel metadata is larger than ${MAX_CUSTOM_DATA_BYTES} bytes`;
    case 4020:
      return 'Missing parameter.';
    case 403:
      return 'Session authentication failed.';
    default:
      return 'Request failed.';
  }
}

/**
 * The Web Messaging Guest API (genesys-api.md §4) on `/v1`: sessions, onMessage and its echo,
 * echo, getJwt, closeSession, agent messages and events, plus the guest faults.
 */
export class GuestService {
  readonly sessions = new GuestSessions();
  readonly jwts: JwtStore;
  readonly frames = new FramePipeline();
  dedupeTracingId: boolean;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly ctx: SimulatorContext) {
    this.jwts = new JwtStore(ctx.clock, ctx.options.jwtTtlSeconds);
    this.dedupeTracingId = ctx.options.dedupeTracingId;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 1_048_576 });
  }

  /** The HTTP upgrade for `/v1?deploymentId=…`; other paths get 404. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    if (url.pathname !== '/v1') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const conn: Connection = {
        ws,
        queryDeploymentId: url.searchParams.get('deploymentId'),
        session: undefined,
      };
      this.connections.add(conn);
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (isBinary) return;
        this.onFrame(conn, Buffer.isBuffer(data) ? data.toString('utf8') : String(data));
      });
      ws.on('close', () => {
        this.connections.delete(conn);
        conn.session?.sockets.delete(ws);
      });
      ws.on('error', () => undefined);
    });
  }

  /** An outage began: every guest socket dies as a network drop would (no close frame). */
  terminateAll(): void {
    for (const conn of this.connections) conn.ws.terminate();
  }

  close(): void {
    this.terminateAll();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.frames.close();
    this.wss.close();
  }

  /** Back to the configured defaults for the guest switches; sessions stay. */
  resetFaults(): void {
    this.frames.clear();
    this.dedupeTracingId = this.ctx.options.dedupeTracingId;
    for (const session of this.sessions.all()) session.dropNext = undefined;
  }

  // ---- frames -------------------------------------------------------------------------------

  private send(ws: WebSocket, frame: ServerFrame, then?: () => void): void {
    this.frames.send(ws, frame, then);
  }

  /** Pushes an outbound frame to every socket of the session, or holds it for the next connect. */
  private push(session: GuestSession, frame: ServerFrame): void {
    // A socket that is closing can no longer deliver: hold the frame as if it were gone.
    const open = [...session.sockets].filter((ws) => ws.readyState === WebSocket.OPEN);
    if (open.length === 0) {
      session.held.push(frame);
      return;
    }
    for (const ws of open) this.send(ws, frame);
  }

  // ---- requests -----------------------------------------------------------------------------

  private onFrame(conn: Connection, text: string): void {
    let request: unknown;
    try {
      request = JSON.parse(text) as unknown;
    } catch {
      this.send(conn.ws, errorFrame(400, 'Request failed.'));
      return;
    }
    if (!isRecord(request)) {
      this.send(conn.ws, errorFrame(400, 'Request failed.'));
      return;
    }
    const tracingId = typeof request['tracingId'] === 'string' ? request['tracingId'] : undefined;
    const reply = (frame: ServerFrame): void => this.send(conn.ws, frame);

    const token = request['token'];
    if (typeof token !== 'string' || token === '') {
      reply(errorFrame(4020, 'Missing parameter: token.', tracingId));
      return;
    }
    if (token.length > MAX_TOKEN_LENGTH) {
      reply(errorFrame(400, `Token exceeds ${MAX_TOKEN_LENGTH} characters.`, tracingId));
      return;
    }

    switch (request['action']) {
      case 'configureSession':
        this.configureSession(conn, request, token, tracingId);
        return;
      case 'onMessage':
        this.onMessage(conn, request, token, tracingId);
        return;
      case 'echo':
        this.echo(conn, request, token, tracingId);
        return;
      case 'getJwt':
        this.getJwt(conn, token, tracingId);
        return;
      case 'closeSession':
        this.closeSession(conn, request, token, tracingId);
        return;
      default:
        reply(errorFrame(400, 'Request failed.', tracingId));
    }
  }

  /** The session this socket configured with this token; answers 4007 / 4006 itself otherwise. */
  private boundSession(
    conn: Connection,
    token: string,
    tracingId: string | undefined,
  ): GuestSession | undefined {
    const session = conn.session;
    if (session === undefined || session.token !== token) {
      this.send(conn.ws, errorFrame(4007, 'Session not found.', tracingId));
      return undefined;
    }
    if (!session.expired && this.ctx.clock.now() >= session.expiresAt) session.expired = true;
    if (session.expired) {
      this.send(conn.ws, errorFrame(4006, 'Session has expired.', tracingId));
      return undefined;
    }
    return session;
  }

  /** `SessionResponse` (MG `SessionResponse.kt` fields; `durationSeconds`/`expirationDate` in s). */
  private sessionResponse(
    session: GuestSession,
    state: { connected: boolean; newSession: boolean; readOnly: boolean },
    tracingId: string | undefined,
  ): ServerFrame {
    return withTracing(
      {
        type: 'response',
        class: 'SessionResponse',
        code: 200,
        body: {
          connected: state.connected,
          newSession: state.newSession,
          readOnly: state.readOnly,
          maxCustomDataBytes: MAX_CUSTOM_DATA_BYTES,
          clearedExistingSession: false,
          durationSeconds: this.ctx.options.sessionDurationSeconds,
          expirationDate: Math.floor(session.expiresAt / 1000),
        },
      },
      tracingId,
    );
  }

  private configureSession(
    conn: Connection,
    request: Record<string, unknown>,
    token: string,
    tracingId: string | undefined,
  ): void {
    const requested = request['deploymentId'];
    const deploymentId = typeof requested === 'string' ? requested : conn.queryDeploymentId;
    if (deploymentId === null || !this.ctx.options.deployments.includes(deploymentId)) {
      this.send(conn.ws, errorFrame(400, 'Deployment not found', tracingId));
      return;
    }
    const now = this.ctx.clock.now();
    const expiresAt = now + this.ctx.options.sessionDurationSeconds * 1000;
    let session = this.sessions.get(token);
    let newSession: boolean;
    if (session === undefined) {
      session = this.sessions.create(token, deploymentId, expiresAt);
      newSession = true;
    } else {
      if (!session.expired && now >= session.expiresAt) session.expired = true;
      if (session.cleared) {
        session.cleared = false;
        newSession = true;
      } else if (request['startNew'] === true || session.expired) {
        this.sessions.restart(session);
        newSession = true;
      } else {
        newSession = false;
      }
      session.expiresAt = expiresAt;
    }

    if (conn.session !== undefined && conn.session !== session)
      conn.session.sockets.delete(conn.ws);
    conn.session = session;
    session.sockets.add(conn.ws);

    this.send(
      conn.ws,
      this.sessionResponse(
        session,
        { connected: true, newSession, readOnly: session.readOnly },
        tracingId,
      ),
    );

    // Agent messages that could not reach the guest are redelivered on reconnect (§6).
    const held = session.held;
    session.held = [];
    for (const frame of held) this.send(conn.ws, frame as ServerFrame);
  }

  private onMessage(
    conn: Connection,
    request: Record<string, unknown>,
    token: string,
    tracingId: string | undefined,
  ): void {
    const reply = (frame: ServerFrame): void => this.send(conn.ws, frame);
    if (isRecord(request['message']) && request['message']['type'] === 'Event') {
      this.onEventMessage(conn, request['message'], request, token, tracingId);
      return;
    }
    const attempt = this.ctx.attempts.add(
      'guest',
      tracingId,
      tracingId !== undefined && this.ctx.deliveries.has('guest', tracingId),
    );
    const session = this.boundSession(conn, token, tracingId);
    if (session === undefined) return;

    const drop = session.dropNext;
    session.dropNext = undefined;
    if (drop === 'before-accept') {
      conn.ws.terminate();
      return;
    }

    const injected = this.ctx.faults.takeGuestFault();
    if (injected !== undefined) {
      const rateLimited = injected.code === 429 || injected.code === 4029;
      if (rateLimited && injected.body === undefined) {
        reply(tooManyRequestsFrame(1, tracingId));
      } else {
        const frame: ServerFrame = rateLimited
          ? {
              type: 'response',
              class: 'TooManyRequestsErrorMessage',
              code: 429,
              body: injected.body,
            }
          : {
              type: 'response',
              class: 'string',
              code: injected.code,
              body: injected.body ?? defaultErrorText(injected.code),
            };
        reply(withTracing(frame, tracingId));
      }
      return;
    }

    if (session.readOnly) {
      reply(errorFrame(400, 'Conversation is read-only: start a new conversation.', tracingId));
      return;
    }

    // Rate limit: a sliding one-second window of the simulator clock.
    const now = this.ctx.clock.now();
    session.recentMessages = session.recentMessages.filter((t) => t > now - 1000);
    if (session.recentMessages.length >= this.ctx.options.guestRateLimitPerSecond) {
      const oldest = session.recentMessages[0] ?? now;
      const retryAfter = Math.max(1, Math.ceil((oldest + 1000 - now) / 1000));
      reply(tooManyRequestsFrame(retryAfter, tracingId));
      return;
    }
    session.recentMessages.push(now);

    const message = request['message'];
    if (!isRecord(message)) {
      reply(errorFrame(4020, 'Missing parameter: message.', tracingId));
      return;
    }
    const kind = message['type'] ?? 'Text';
    if (kind !== 'Text' && kind !== 'Structured') {
      reply(errorFrame(400, 'Request failed.', tracingId));
      return;
    }
    const text = message['text'];
    if (typeof text !== 'string' || text.trim() === '') {
      reply(errorFrame(4020, 'Missing parameter: message.text.', tracingId));
      return;
    }
    const content = message['content'];
    if (
      content !== undefined &&
      (!Array.isArray(content) ||
        !content.every((c) => isRecord(c) && typeof c['contentType'] === 'string'))
    ) {
      reply(errorFrame(400, 'Request failed.', tracingId));
      return;
    }
    if (text.length > this.ctx.options.guestTextLimit) {
      reply(
        errorFrame(
          4011,
          `Message exceeded the maximum length of ${this.ctx.options.guestTextLimit} characters.`,
          tracingId,
        ),
      );
      return;
    }
    const attributes = this.customAttributes(message, request, tracingId);
    if ('refusal' in attributes) {
      reply(attributes.refusal);
      return;
    }
    const customAttributes = attributes.value;

    if (this.dedupeTracingId && tracingId !== undefined) {
      const existing = session.conversation.messages.find(
        (m) => m.direction === 'Inbound' && m.tracingId === tracingId,
      );
      if (existing !== undefined) {
        reply(structuredMessageFrame(existing, tracingId));
        return;
      }
    }

    const clientMetadata = isRecord(message['metadata']) ? message['metadata'] : undefined;
    const stored = newMessage({
      direction: 'Inbound',
      type: kind,
      text,
      ...(Array.isArray(content) && content.length > 0 ? { content: content as unknown[] } : {}),
      time: now,
      ...(tracingId === undefined ? {} : { tracingId }),
      ...(clientMetadata === undefined ? {} : { clientMetadata }),
      ...(customAttributes === undefined ? {} : { customAttributes }),
    });
    session.conversation.messages.push(stored);
    attempt.stored = true;
    this.ctx.deliveries.add({
      kind: 'guest',
      path: '/v1',
      externalId: tracingId,
      conversationId: session.conversation.conversationId,
      text,
      receivedAt: now,
      serverId: stored.id,
      sessionToken: session.token,
    });
    if (this.ctx.options.bot) this.scheduleBot(session, session.conversation.conversationId, text);

    if (drop === 'after-accept') {
      attempt.answerDropped = true;
      conn.ws.terminate();
      return;
    }
    reply(structuredMessageFrame(stored, tracingId));
  }

  /**
   * An Event message from the guest (MG `AutoStartRequest`, `UserTypingRequest`,
   * `ClearConversationRequest`): Presence `Join` is stored and echoed as an Inbound Event;
   * Typing is forwarded (echoed only with `echoTypingEvents`) or refused with 403 when the
   * deployment does not show user typing; Presence `Clear` answers its echo, then
   * `SessionClearedEvent` and `ConnectionClosedEvent` on every socket of the session.
   */
  private onEventMessage(
    conn: Connection,
    message: Record<string, unknown>,
    request: Record<string, unknown>,
    token: string,
    tracingId: string | undefined,
  ): void {
    const reply = (frame: ServerFrame): void => this.send(conn.ws, frame);
    const session = this.boundSession(conn, token, tracingId);
    if (session === undefined) return;
    const events = message['events'];
    if (!Array.isArray(events) || events.length === 0) {
      reply(errorFrame(4020, 'Missing parameter: message.events.', tracingId));
      return;
    }
    const kinds: Array<'Join' | 'Clear' | 'Typing'> = [];
    for (const event of events) {
      const kind = eventKind(event);
      if (kind === undefined) {
        reply(errorFrame(400, 'Request failed.', tracingId));
        return;
      }
      kinds.push(kind);
    }
    const clear = kinds.includes('Clear');
    if (session.readOnly && !clear) {
      reply(errorFrame(400, 'Conversation is read-only: start a new conversation.', tracingId));
      return;
    }
    const settings = this.ctx.deployments.get(session.deploymentId);
    if (clear && !settings.conversationClear.enabled) {
      reply(errorFrame(403, CLEAR_FORBIDDEN, tracingId));
      return;
    }
    if (kinds.includes('Typing') && !settings.showUserTypingIndicator) {
      reply(errorFrame(403, TYPING_FORBIDDEN, tracingId));
      return;
    }
    const now = this.ctx.clock.now();
    session.recentMessages = session.recentMessages.filter((t) => t > now - 1000);
    if (session.recentMessages.length >= this.ctx.options.guestRateLimitPerSecond) {
      const oldest = session.recentMessages[0] ?? now;
      reply(tooManyRequestsFrame(Math.max(1, Math.ceil((oldest + 1000 - now) / 1000)), tracingId));
      return;
    }
    session.recentMessages.push(now);
    const attributes = this.customAttributes(message, request, tracingId);
    if ('refusal' in attributes) {
      reply(attributes.refusal);
      return;
    }
    const customAttributes = attributes.value;

    const stored = newMessage({
      direction: 'Inbound',
      type: 'Event',
      time: now,
      events: events as unknown[],
      ...(tracingId === undefined ? {} : { tracingId }),
      ...(customAttributes === undefined ? {} : { customAttributes }),
    });
    const typingOnly = kinds.every((k) => k === 'Typing');
    // Typing is not part of the transcript; a Join (autostart) or Clear is.
    if (!typingOnly) session.conversation.messages.push(stored);
    if (!typingOnly || this.ctx.options.echoTypingEvents) {
      reply(structuredMessageFrame(stored, tracingId));
    }
    if (clear) this.clearSession(session);
  }

  /** After a Presence Clear: the conversation is gone; the token starts a new session next time. */
  private clearSession(session: GuestSession): void {
    const sockets = [...session.sockets];
    this.sessions.restart(session);
    session.cleared = true;
    this.closeSockets(session, sockets, {}, eventFrame('SessionClearedEvent'));
  }

  /**
   * `message.channel.metadata.customAttributes`, or the same under a top-level `channel`; or the
   * frame that refuses them: 400 when they are not an object, 4013 when they are over the limit.
   */
  private customAttributes(
    message: Record<string, unknown>,
    request: Record<string, unknown>,
    tracingId: string | undefined,
  ): { value: Record<string, unknown> | undefined } | { refusal: ServerFrame } {
    for (const channel of [message['channel'], request['channel']]) {
      if (!isRecord(channel)) continue;
      const metadata = channel['metadata'];
      if (!isRecord(metadata)) continue;
      const attributes = metadata['customAttributes'];
      if (attributes === undefined) continue;
      if (!isRecord(attributes)) return { refusal: errorFrame(400, 'Request failed.', tracingId) };
      if (Buffer.byteLength(JSON.stringify(attributes), 'utf8') > MAX_CUSTOM_DATA_BYTES)
        return { refusal: errorFrame(4013, defaultErrorText(4013), tracingId) };
      return { value: attributes };
    }
    return { value: undefined };
  }

  private echo(
    conn: Connection,
    request: Record<string, unknown>,
    token: string,
    tracingId: string | undefined,
  ): void {
    const session = this.boundSession(conn, token, tracingId);
    if (session === undefined) return;
    const message = isRecord(request['message']) ? request['message'] : {};
    // MG Response.healthCheckResponseWithSessionDuration: metadata values are strings.
    const body = {
      text: typeof message['text'] === 'string' ? message['text'] : 'ping',
      type: 'Text',
      direction: 'Inbound',
      id: newHexId(),
      metadata: {
        durationSeconds: String(this.ctx.options.sessionDurationSeconds),
        expirationDate: String(Math.floor(session.expiresAt / 1000)),
      },
    };
    this.send(
      conn.ws,
      withTracing({ type: 'response', class: 'StructuredMessage', code: 200, body }, tracingId),
    );
  }

  private getJwt(conn: Connection, token: string, tracingId: string | undefined): void {
    const session = this.boundSession(conn, token, tracingId);
    if (session === undefined) return;
    const body = this.jwts.issue(session.token);
    this.send(
      conn.ws,
      withTracing({ type: 'response', class: 'JwtResponse', code: 200, body }, tracingId),
    );
  }

  /**
   * `closeSession` (MG `closeAllConnectionsForTheSession`): the asking socket gets
   * `SessionResponse{connected:false, readOnly:true}` and stays open (the client then configures
   * `startNew:true` on it); with `closeAllConnections:true` every other socket of the session gets
   * `ConnectionClosedEvent` and is closed. The conversation is read-only from then on.
   */
  private closeSession(
    conn: Connection,
    request: Record<string, unknown>,
    token: string,
    tracingId: string | undefined,
  ): void {
    const session = conn.session;
    if (session === undefined || session.token !== token) {
      this.send(conn.ws, errorFrame(4007, 'Session not found.', tracingId));
      return;
    }
    session.readOnly = true;
    this.send(
      conn.ws,
      this.sessionResponse(
        session,
        { connected: false, newSession: this.ctx.options.closeSessionNewSession, readOnly: true },
        tracingId,
      ),
    );
    if (request['closeAllConnections'] !== true) return;
    this.closeSockets(
      session,
      [...session.sockets].filter((ws) => ws !== conn.ws),
      {},
    );
  }

  /** Sends `ConnectionClosedEvent` (with `body`) to each socket, then closes it (1000). */
  private closeSockets(
    session: GuestSession,
    sockets: WebSocket[],
    body: Record<string, unknown>,
    before?: ServerFrame,
  ): void {
    for (const ws of sockets) {
      session.sockets.delete(ws);
      if (before !== undefined) this.send(ws, before);
      this.send(ws, eventFrame('ConnectionClosedEvent', body), () =>
        ws.close(1000, 'connection closed'),
      );
    }
  }

  // ---- control ------------------------------------------------------------------------------

  agentMessage(
    ref: string,
    text: string,
    options: { originatingEntity?: OriginatingEntity; content?: unknown[] } = {},
  ): GuestMessageInfo {
    if (typeof text !== 'string' || text === '')
      throw new TypeError('text must be a non-empty string');
    const content = options.content;
    if (
      content !== undefined &&
      (!Array.isArray(content) ||
        content.length === 0 ||
        !content.every((c) => isRecord(c) && typeof c['contentType'] === 'string'))
    ) {
      throw new TypeError('content must be a non-empty array of {contentType, …} objects');
    }
    const entity = options.originatingEntity ?? 'Human';
    if (entity !== 'Human' && entity !== 'Bot') {
      throw new TypeError("originatingEntity must be 'Human' or 'Bot'");
    }
    const session = this.sessions.find(ref);
    if (session.readOnly) throw new RangeError('the conversation has ended (agent disconnected)');
    return this.publishOutbound(session, {
      type: content === undefined ? 'Text' : 'Structured',
      text,
      ...(content === undefined ? {} : { content }),
      originatingEntity: entity,
    });
  }

  /** An Outbound message of the agent's side, stored in the conversation and pushed to its sockets. */
  private publishOutbound(
    session: GuestSession,
    fields: Omit<Parameters<typeof newMessage>[0], 'direction' | 'time'>,
  ): GuestMessageInfo {
    const message = newMessage({ direction: 'Outbound', time: this.ctx.clock.now(), ...fields });
    session.conversation.messages.push(message);
    this.push(session, structuredMessageFrame(message));
    return info(message);
  }

  /**
   * An Outbound Presence Disconnect event carrying `metadata.readOnly` ("true" / "false"): read-only
   * when the deployment's `conversationDisconnect.type` is `ReadOnly` (or `options.readOnly`).
   */
  agentDisconnect(ref: string, options: { readOnly?: boolean } = {}): GuestMessageInfo {
    if (options.readOnly !== undefined && typeof options.readOnly !== 'boolean') {
      throw new TypeError('readOnly must be a boolean');
    }
    const session = this.sessions.find(ref);
    const readOnly =
      options.readOnly ??
      this.ctx.deployments.get(session.deploymentId).conversationDisconnect.type === 'ReadOnly';
    if (readOnly) session.readOnly = true;
    return this.publishOutbound(session, {
      type: 'Event',
      events: [{ eventType: 'Presence', presence: { type: 'Disconnect' } }],
      serverMetadata: { readOnly: String(readOnly) },
    });
  }

  /**
   * Pushes `ConnectionClosedEvent` (`body.reason` when given, e.g. `'signedIn'`; none = the
   * session limit was reached, as Genesys' SDK reads it) to every socket of the session and closes
   * them. The session and its conversation stay.
   */
  connectionClosed(ref: string, options: { reason?: string } = {}): void {
    if (options.reason !== undefined && typeof options.reason !== 'string') {
      throw new TypeError('reason must be a string');
    }
    const session = this.sessions.find(ref);
    this.closeSockets(
      session,
      [...session.sockets],
      options.reason === undefined ? {} : { reason: options.reason },
    );
  }

  dropSocket(ref: string, when: 'before-accept' | 'after-accept'): void {
    if (when !== 'before-accept' && when !== 'after-accept') {
      throw new TypeError("when must be 'before-accept' or 'after-accept'");
    }
    this.sessions.find(ref).dropNext = when;
  }

  expireSession(ref: string): void {
    const session = this.sessions.find(ref);
    session.expired = true;
    // MG Response.sessionExpiredEvent: `"type": "response"`.
    for (const ws of session.sockets)
      this.send(
        ws,
        eventFrame('SessionExpiredEvent', {}, this.ctx.options.sessionExpiredEventType),
      );
  }

  listSessions(): GuestSessionInfo[] {
    return this.sessions.all().map((s) => ({
      token: s.token,
      deploymentId: s.deploymentId,
      conversationId: s.conversation.conversationId,
      readOnly: s.readOnly,
      expired: s.expired || this.ctx.clock.now() >= s.expiresAt,
      cleared: s.cleared,
      connections: s.sockets.size,
      heldFrames: s.held.length,
      messages: s.conversation.messages.map(info),
      previousConversations: s.previousConversations.map((c) => ({
        conversationId: c.conversationId,
        messages: c.messages.map(info),
      })),
    }));
  }

  private scheduleBot(session: GuestSession, conversationId: string, text: string): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (session.conversation.conversationId !== conversationId || session.readOnly) return;
      const preview = text.length > 200 ? `${text.slice(0, 200)}…` : text;
      this.agentMessage(session.token, `I got your message "${preview}"`, {
        originatingEntity: 'Bot',
      });
    }, this.ctx.options.botDelayMs);
    timer.unref();
    this.timers.add(timer);
  }
}
