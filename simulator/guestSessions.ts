import type { WebSocket } from 'ws';
import { newHexId, newUuid } from './ids.js';

/** Who wrote an outbound message. */
export type OriginatingEntity = 'Human' | 'Bot';

/** One message of a guest conversation, as the simulator stores it. */
export interface GuestMessage {
  /** Server id (32 hex characters). */
  id: string;
  /** `channel.messageId` (UUID). */
  messageId: string;
  /** `metadata.correlationId` (UUID). */
  correlationId: string;
  direction: 'Inbound' | 'Outbound';
  type: 'Text' | 'Structured' | 'Event';
  text?: string;
  /** `content` of a Structured message (quick replies, button responses, cards). */
  content?: unknown[];
  /** Simulator clock, epoch ms (`channel.time`). */
  time: number;
  originatingEntity?: OriginatingEntity;
  /** The guest request's `tracingId` (inbound messages). */
  tracingId?: string;
  /** The client's `message.metadata` (e.g. `customMessageId`), echoed back. */
  clientMetadata?: Record<string, unknown>;
  /** Metadata the server adds after `correlationId` (the Disconnect event's `readOnly`). */
  serverMetadata?: Record<string, string>;
  customAttributes?: Record<string, unknown>;
  events?: unknown[];
}

/** A guest conversation: the messages between one `configureSession` / `startNew` and the next. */
export interface GuestConversation {
  conversationId: string;
  messages: GuestMessage[];
}

/** A Web Messaging guest session, keyed by the client-generated session token. */
export interface GuestSession {
  token: string;
  deploymentId: string;
  conversation: GuestConversation;
  previousConversations: GuestConversation[];
  /**
   * Read, don't send, until `startNew`: an agent Disconnect on a `ReadOnly` deployment, or
   * `closeSession`.
   */
  readOnly: boolean;
  /** The guest cleared the conversation (Presence Clear): the next `configureSession` is a new session. */
  cleared: boolean;
  /** `expireSession` or the session duration passed: onMessage → 4006 until configureSession. */
  expired: boolean;
  /** Simulator clock, epoch ms. */
  expiresAt: number;
  /** Sockets that configured this session. */
  sockets: Set<WebSocket>;
  /** Outbound frames that found no socket, delivered after the next `configureSession`. */
  held: object[];
  /** Simulator-clock times of recent `onMessage` requests that passed the rate limit. */
  recentMessages: number[];
  /** `dropSocket` armed for the next onMessage. */
  dropNext: 'before-accept' | 'after-accept' | undefined;
}

export function newMessage(
  fields: Omit<GuestMessage, 'id' | 'messageId' | 'correlationId'>,
): GuestMessage {
  return { id: newHexId(), messageId: newUuid(), correlationId: newUuid(), ...fields };
}

/** All guest sessions, found by token or by (current or previous) conversation id. */
export class GuestSessions {
  private readonly byToken = new Map<string, GuestSession>();

  get(token: string): GuestSession | undefined {
    return this.byToken.get(token);
  }

  create(token: string, deploymentId: string, expiresAt: number): GuestSession {
    const session: GuestSession = {
      token,
      deploymentId,
      conversation: { conversationId: newUuid(), messages: [] },
      previousConversations: [],
      readOnly: false,
      cleared: false,
      expired: false,
      expiresAt,
      sockets: new Set(),
      held: [],
      recentMessages: [],
      dropNext: undefined,
    };
    this.byToken.set(token, session);
    return session;
  }

  /** Ends the session's conversation and starts a fresh one (startNew, or after expiry). */
  restart(session: GuestSession): void {
    session.previousConversations.push(session.conversation);
    session.conversation = { conversationId: newUuid(), messages: [] };
    session.readOnly = false;
    session.expired = false;
    session.held = [];
    session.recentMessages = [];
  }

  /** By session token, else by a current or previous conversation id; throws when unknown. */
  find(ref: string): GuestSession {
    const direct = this.byToken.get(ref);
    if (direct !== undefined) return direct;
    for (const session of this.byToken.values()) {
      if (session.conversation.conversationId === ref) return session;
    }
    for (const session of this.byToken.values()) {
      if (session.previousConversations.some((c) => c.conversationId === ref)) return session;
    }
    throw new RangeError(`no guest session or conversation ${ref}`);
  }

  all(): GuestSession[] {
    return [...this.byToken.values()];
  }
}
