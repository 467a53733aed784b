import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GuestService } from './guest.js';
import type { GuestMessage } from './guestSessions.js';
import type { PlatformRateCounter } from './rateLimitHeaders.js';
import { bearerToken, sendUnauthorized } from './oauth.js';
import { platformError, sendJson, sendPlatformError } from './respond.js';

export const HISTORY_PATH = '/api/v2/webmessaging/messages';

/** Largest `pageSize` accepted (our choice; the real limit is not in our sources). */
export const MAX_PAGE_SIZE = 100;

/**
 * A history entity, shaped as MG's `TestWebMessagingApiResponses.messageEntityResponseWith3Messages`:
 * `content: []` on every entry, `events` on Event entries, `originatingEntity` on every entry
 * (`Human` for the guest's own).
 */
function historyEntity(message: GuestMessage): Record<string, unknown> {
  const entity: Record<string, unknown> = {
    id: message.id,
    channel: { time: new Date(message.time).toISOString(), messageId: message.messageId },
    type: message.type,
  };
  if (message.text !== undefined) entity['text'] = message.text;
  entity['content'] = message.content ?? [];
  if (message.events !== undefined) entity['events'] = message.events;
  entity['direction'] = message.direction;
  entity['originatingEntity'] = message.originatingEntity ?? 'Human';
  entity['metadata'] = { ...message.clientMetadata, ...message.serverMetadata };
  return entity;
}

function positiveInt(value: string | null, fallback: number): number | undefined {
  if (value === null) return fallback;
  if (!/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 ? n : undefined;
}

/**
 * `GET /api/v2/webmessaging/messages?pageSize=&pageNumber=` with `Authorization: Bearer <jwt>`
 * (genesys-api.md §4): the messages (Text, Structured, Event) of the session's current
 * conversation, newest first.
 */
export function handleHistory(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  guest: GuestService,
  rateCounter: PlatformRateCounter,
): void {
  const jwt = bearerToken(req);
  if (jwt === undefined) {
    sendUnauthorized(res, 'missing');
    return;
  }
  const sessionToken = guest.jwts.verify(jwt);
  const session = sessionToken === undefined ? undefined : guest.sessions.get(sessionToken);
  if (session === undefined) {
    sendUnauthorized(res, 'invalid');
    return;
  }
  const headers = rateCounter.hit(jwt);
  const pageSize = positiveInt(query.get('pageSize'), 25);
  const pageNumber = positiveInt(query.get('pageNumber'), 1);
  if (pageSize === undefined || pageSize > MAX_PAGE_SIZE || pageNumber === undefined) {
    sendPlatformError(
      res,
      platformError(
        400,
        'bad.request',
        `pageSize must be 1-${MAX_PAGE_SIZE} and pageNumber a positive integer.`,
      ),
      headers,
    );
    return;
  }
  // Stored in arrival order; newest first is that order reversed (ties in time keep arrival order).
  const all = [...session.conversation.messages].reverse();
  const start = (pageNumber - 1) * pageSize;
  sendJson(
    res,
    200,
    {
      entities: all.slice(start, start + pageSize).map(historyEntity),
      pageSize,
      pageNumber,
      total: all.length,
      pageCount: Math.ceil(all.length / pageSize),
    },
    headers,
  );
}
