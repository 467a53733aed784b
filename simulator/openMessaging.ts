import type { IncomingMessage, ServerResponse } from 'node:http';
import { keyOf } from './attempts.js';
import type { SimulatorContext } from './context.js';
import { newHexId, newUuid } from './ids.js';
import { passMessageGate } from './messageGate.js';
import {
  isNonEmptyString,
  isRecord,
  parseJson,
  platformError,
  readBody,
  resetSocket,
  sendJson,
  sendPlatformError,
} from './respond.js';

/** `/api/v2/conversations/messages/{integrationId}/inbound/open/message` */
export const OPEN_MESSAGE_PATH =
  /^\/api\/v2\/conversations\/messages\/([^/]+)\/inbound\/open\/message$/;

const ID_TYPES = new Set(['Email', 'Phone', 'Opaque']);

function validate(body: unknown): string | undefined {
  if (!isRecord(body)) return 'The request body must be a JSON object.';
  const channel = body['channel'];
  if (!isRecord(channel)) return 'channel is required.';
  const from = channel['from'];
  if (!isRecord(from)) return 'channel.from is required.';
  if (!isNonEmptyString(from['id'])) return 'channel.from.id is required.';
  if (typeof from['idType'] !== 'string' || !ID_TYPES.has(from['idType'])) {
    return 'channel.from.idType must be one of Email, Phone, Opaque.';
  }
  const time = channel['time'];
  if (typeof time !== 'string' || Number.isNaN(Date.parse(time))) {
    return 'channel.time is required (ISO-8601 date-time).';
  }
  if (channel['messageId'] !== undefined && !isNonEmptyString(channel['messageId'])) {
    return 'channel.messageId must be a non-empty string.';
  }
  if (!isNonEmptyString(body['text']) && !Array.isArray(body['content'])) {
    return 'text (or content) is required.';
  }
  return undefined;
}

/**
 * Open Messaging inbound (genesys-api.md §5). Answers the normalized message. Duplicates of
 * `channel.messageId` are stored again (and recorded as duplicates) unless de-duplication is on,
 * in which case they get 409: real Genesys behaviour here is unconfirmed.
 */
export async function handleOpenMessage(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: SimulatorContext,
  integrationId: string,
  query: URLSearchParams,
): Promise<void> {
  const bodyText = await readBody(req);
  const key = keyOf(parseJson(bodyText), ['channel', 'messageId']);
  const attempt = ctx.attempts.add(
    'open',
    key,
    key !== undefined && ctx.deliveries.has('open', key),
  );
  const headers = passMessageGate(req, res, ctx);
  if (headers === undefined) return;

  const body = parseJson(bodyText);
  const problem = validate(body);
  if (problem !== undefined || !isRecord(body)) {
    sendPlatformError(res, platformError(400, 'bad.request', problem ?? 'Bad request.'), headers);
    return;
  }
  const channel = body['channel'] as Record<string, unknown>;
  const from = channel['from'] as Record<string, unknown>;
  const messageId = typeof channel['messageId'] === 'string' ? channel['messageId'] : undefined;

  if (messageId !== undefined && ctx.dedupeOpenMessageId && ctx.openMessageIds.has(messageId)) {
    ctx.openDuplicatesRefused += 1;
    sendPlatformError(
      res,
      platformError(
        409,
        'conflict',
        `A message with channel.messageId ${messageId} already exists.`,
      ),
      headers,
    );
    return;
  }

  const senderKey = `${integrationId}\u0000${String(from['idType'])}\u0000${String(from['id'])}`;
  let conversationId = ctx.openConversations.get(senderKey);
  if (conversationId === undefined) {
    conversationId = newUuid();
    ctx.openConversations.set(senderKey, conversationId);
  }

  const id = newHexId();
  const text = typeof body['text'] === 'string' ? body['text'] : '';
  if (messageId !== undefined) ctx.openMessageIds.set(messageId, id);
  ctx.deliveries.add({
    kind: 'open',
    path: req.url?.split('?')[0] ?? '',
    externalId: messageId,
    conversationId,
    text,
    receivedAt: ctx.clock.now(),
    serverId: id,
    integrationId,
  });

  if (ctx.faults.takeCommitThenDrop()) {
    attempt.answerDropped = true;
    resetSocket(req.socket);
    return;
  }

  const normalized: Record<string, unknown> = {
    id,
    channel: { ...channel, platform: 'Open', type: 'Private' },
    type: 'Text',
    text,
    direction: 'Inbound',
  };
  if (Array.isArray(body['content'])) normalized['content'] = body['content'];
  if (query.get('prefetchConversationId') === 'true') normalized['conversationId'] = conversationId;
  sendJson(res, 200, normalized, headers);
}
