import { WebSocket } from 'ws';
import type { GuestMessage } from './guestSessions.js';

/** The envelope of every server frame (genesys-api.md §4). */
export interface ServerFrame {
  type: 'response' | 'message';
  class: string;
  code: number;
  body: unknown;
  tracingId?: string;
}

/** The frame with the request's `tracingId`, when it had one. */
export function withTracing(frame: ServerFrame, tracingId: string | undefined): ServerFrame {
  return tracingId === undefined ? frame : { ...frame, tracingId };
}

/** `{"type":"response","class":"string","code":<n>,"body":"<text>"}` */
export function errorFrame(code: number, text: string, tracingId?: string): ServerFrame {
  return withTracing({ type: 'response', class: 'string', code, body: text }, tracingId);
}

/** The exact rate-limit frame. */
export function tooManyRequestsFrame(retryAfter: number, tracingId?: string): ServerFrame {
  return withTracing(
    {
      type: 'response',
      class: 'TooManyRequestsErrorMessage',
      code: 429,
      body: { retryAfter, errorCode: 4029, errorMessage: 'Message rate too high for this session' },
    },
    tracingId,
  );
}

/** A pushed session event (`SessionExpiredEvent`, `ConnectionClosedEvent`, …), empty body by default. */
export function eventFrame(
  className: string,
  body: Record<string, unknown> = {},
  type: ServerFrame['type'] = 'message',
): ServerFrame {
  return { type, class: className, code: 200, body };
}

/** The StructuredMessage body of a stored message, as pushed on the socket. */
export function structuredBody(message: GuestMessage): Record<string, unknown> {
  const body: Record<string, unknown> = {
    direction: message.direction,
    id: message.id,
    type: message.type,
    // Agent Text / Structured frames: `channel: {time, type: "Private"}` (MG fixtures, OVO's
    // captured payload); the guest's echo and events carry `channel.messageId` (MG fixtures).
    channel:
      message.direction === 'Outbound' && message.type !== 'Event'
        ? { time: new Date(message.time).toISOString(), type: 'Private' }
        : { time: new Date(message.time).toISOString(), messageId: message.messageId },
    metadata: {
      ...message.clientMetadata,
      correlationId: message.correlationId,
      ...message.serverMetadata,
    },
  };
  if (message.text !== undefined) body['text'] = message.text;
  if (message.content !== undefined) body['content'] = message.content;
  if (message.originatingEntity !== undefined)
    body['originatingEntity'] = message.originatingEntity;
  if (message.events !== undefined) body['events'] = message.events;
  return body;
}

/** A pushed StructuredMessage (echo of the guest's message, agent / bot message, event). */
export function structuredMessageFrame(message: GuestMessage, tracingId?: string): ServerFrame {
  return withTracing(
    { type: 'message', class: 'StructuredMessage', code: 200, body: structuredBody(message) },
    tracingId,
  );
}

interface Pending {
  ws: WebSocket;
  data: string;
  then: (() => void) | undefined;
}

/**
 * Every outgoing frame goes through here, so that tests can delay them (`delayFrames`) or have
 * the next n emitted in reverse order (`reorderNextFrames`): the Guest API gives no ordering
 * guarantee (genesys-api.md §4).
 */
export class FramePipeline {
  private delayMs = 0;
  private reorderRemaining = 0;
  private held: Pending[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  setDelay(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('delayFrames: ms must be >= 0');
    this.delayMs = ms;
  }

  /** Holds the next `n` frames, then emits them in reverse. `0` releases any held frames now. */
  setReorder(n: number): void {
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError('reorderNextFrames: n must be an integer >= 0');
    this.reorderRemaining = n;
    if (n === 0) this.release();
  }

  get state(): { delayMs: number; reorderRemaining: number; held: number } {
    return {
      delayMs: this.delayMs,
      reorderRemaining: this.reorderRemaining,
      held: this.held.length,
    };
  }

  /** Sends `frame` on `ws`; `then` runs once it has been written (or dropped: socket closed). */
  send(ws: WebSocket, frame: ServerFrame, then?: () => void): void {
    const item: Pending = { ws, data: JSON.stringify(frame), then };
    if (this.reorderRemaining > 0) {
      this.held.push(item);
      this.reorderRemaining -= 1;
      if (this.reorderRemaining === 0) this.release();
      return;
    }
    this.emit(item);
  }

  private release(): void {
    const batch = this.held.reverse();
    this.held = [];
    for (const item of batch) this.emit(item);
  }

  private emit(item: Pending): void {
    if (this.delayMs <= 0) {
      this.write(item);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.write(item);
    }, this.delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  private write(item: Pending): void {
    if (item.ws.readyState === WebSocket.OPEN) item.ws.send(item.data);
    item.then?.();
  }

  /** Back to normal; held frames go out now (in reverse, as promised). */
  clear(): void {
    this.delayMs = 0;
    this.reorderRemaining = 0;
    this.release();
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.held = [];
  }
}
