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
/** `/api/v2/conversations/messages/{integrationId}/inbound/open/receipt` */
export const OPEN_RECEIPT_PATH =
  /^\/api\/v2\/conversations\/messages\/([^/]+)\/inbound\/open\/receipt$/;
/** `/api/v2/conversations/messages/{integrationId}/inbound/open/event` */
export const OPEN_EVENT_PATH =
  /^\/api\/v2\/conversations\/messages\/([^/]+)\/inbound\/open\/event$/;

const ID_TYPES = new Set(['Email', 'Phone', 'Opaque']);

function validTime(value: unknown): boolean {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

/** `channel.from` and `channel.time`, required on inbound messages and events. */
function validateChannelFrom(channel: unknown): string | undefined {
  if (!isRecord(channel)) return 'channel is required.';
  const from = channel['from'];
  if (!isRecord(from)) return 'channel.from is required.';
  if (!isNonEmptyString(from['id'])) return 'channel.from.id is required.';
  if (typeof from['idType'] !== 'string' || !ID_TYPES.has(from['idType'])) {
    return 'channel.from.idType must be one of Email, Phone, Opaque.';
  }
  if (!validTime(channel['time'])) return 'channel.time is required (ISO-8601 date-time).';
  return undefined;
}

function validate(body: unknown): string | undefined {
  if (!isRecord(body)) return 'The request body must be a JSON object.';
  const problem = validateChannelFrom(body['channel']);
  if (problem !== undefined) return problem;
  const channel = body['channel'] as Record<string, unknown>;
  if (channel['messageId'] !== undefined && !isNonEmptyString(channel['messageId'])) {
    return 'channel.messageId must be a non-empty string.';
  }
  if (!isNonEmptyString(body['text']) && !Array.isArray(body['content'])) {
    return 'text (or content) is required.';
  }
  if (body['metadata'] !== undefined && !isStringMap(body['metadata'])) {
    return 'metadata must be an object of strings.';
  }
  return undefined;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
}

/**
 * The normalized `channel` Genesys answers (the SDK's `OpenMessagingChannel`, where `to` and
 * `from` are required): the sent fields, plus `id` and `to.id` = the integration id (our choice:
 * the values are not in our sources), `platform: 'Open'`, `type: 'Private'`.
 */
function normalizedChannel(
  integrationId: string,
  channel: Record<string, unknown>,
): Record<string, unknown> {
  return {
    id: integrationId,
    ...channel,
    platform: 'Open',
    type: 'Private',
    to: isRecord(channel['to']) ? channel['to'] : { id: integrationId },
    ...(isRecord(channel['from']) ? {} : { from: { id: integrationId, idType: 'Opaque' } }),
  };
}

/** Reads the body and passes the Platform gate; `undefined` when it has answered already. */
async function gateAndParse(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: SimulatorContext,
): Promise<{ body: unknown; headers: Record<string, string> } | undefined> {
  const bodyText = await readBody(req);
  const headers = passMessageGate(req, res, ctx);
  if (headers === undefined) return undefined;
  return { body: parseJson(bodyText), headers };
}

/**
 * One Open Messaging inbound request of a kind other than a message (receipt, event): the gate
 * (faults, auth), a JSON object checked by `problemOf` (400 `bad.request` naming the field), the
 * body recorded in `control.openInbound()`, and the normalized answer.
 */
function inboundHandler(
  kind: 'receipt' | 'event',
  problemOf: (body: Record<string, unknown>) => string | undefined,
  answer: (body: Record<string, unknown>, integrationId: string) => Record<string, unknown>,
) {
  return async (
    req: IncomingMessage,
    res: ServerResponse,
    ctx: SimulatorContext,
    integrationId: string,
  ): Promise<void> => {
    const passed = await gateAndParse(req, res, ctx);
    if (passed === undefined) return;
    const { body, headers } = passed;
    const problem = isRecord(body) ? problemOf(body) : 'The request body must be a JSON object.';
    if (problem !== undefined || !isRecord(body)) {
      sendPlatformError(res, platformError(400, 'bad.request', problem ?? 'Bad request.'), headers);
      return;
    }
    ctx.openInbound.push({ kind, integrationId, body, receivedAt: ctx.clock.now() });
    sendJson(res, 200, answer(body, integrationId), headers);
  };
}

/**
 * Open Messaging inbound receipt (`…/inbound/open/receipt`, the SDK's
 * `OpenInboundNormalizedReceipt`): requires `id` (the outbound message it is about), `channel.to.id`,
 * `channel.time`, `status`. Answers the SDK's `OpenReceiptNormalizedMessage`; recorded in
 * `control.openInbound()`. Any `status` string is accepted (the real list is not in our sources).
 */
export const handleOpenReceipt = inboundHandler(
  'receipt',
  (body) => {
    const channel = body['channel'];
    if (!isNonEmptyString(body['id'])) return 'id is required.';
    if (!isRecord(channel)) return 'channel is required.';
    if (!isRecord(channel['to']) || !isNonEmptyString(channel['to']['id']))
      return 'channel.to.id is required.';
    if (!validTime(channel['time'])) return 'channel.time is required (ISO-8601 date-time).';
    if (!isNonEmptyString(body['status'])) return 'status is required.';
    if (body['reasons'] !== undefined && !Array.isArray(body['reasons']))
      return 'reasons must be an array.';
    if (body['isFinalReceipt'] !== undefined && typeof body['isFinalReceipt'] !== 'boolean')
      return 'isFinalReceipt must be a boolean.';
    return undefined;
  },
  (body, integrationId) => {
    const answer: Record<string, unknown> = {
      id: body['id'],
      channel: normalizedChannel(integrationId, body['channel'] as Record<string, unknown>),
      type: 'Receipt',
      status: body['status'],
      direction: 'Outbound',
    };
    if (body['reasons'] !== undefined) answer['reasons'] = body['reasons'];
    if (body['isFinalReceipt'] !== undefined) answer['isFinalReceipt'] = body['isFinalReceipt'];
    return answer;
  },
);

/**
 * Open Messaging inbound event (`…/inbound/open/event`, the SDK's `OpenInboundNormalizedEvent`):
 * requires `channel.from` (as for messages), `channel.time` and a non-empty `events` array of
 * `{eventType, …}`. Answers the SDK's `OpenEventNormalizedMessage`; recorded in `control.openInbound()`.
 */
export const handleOpenEvent = inboundHandler(
  'event',
  (body) => {
    const events = body['events'];
    return (
      validateChannelFrom(body['channel']) ??
      (Array.isArray(events) &&
      events.length > 0 &&
      events.every((e) => isRecord(e) && isNonEmptyString(e['eventType']))
        ? undefined
        : 'events must be a non-empty array of {eventType, …}.')
    );
  },
  (body, integrationId) => ({
    id: newHexId(),
    channel: normalizedChannel(integrationId, body['channel'] as Record<string, unknown>),
    type: 'Event',
    events: body['events'],
  }),
);

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
  attempt.stored = true;
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

  // The SDK's OpenMessageNormalizedMessage: no `direction`; `metadata` kept.
  const normalized: Record<string, unknown> = {
    id,
    channel: normalizedChannel(integrationId, channel),
    type: 'Text',
    text,
  };
  if (Array.isArray(body['content'])) normalized['content'] = body['content'];
  if (body['metadata'] !== undefined) normalized['metadata'] = body['metadata'];
  if (query.get('prefetchConversationId') === 'true') normalized['conversationId'] = conversationId;
  sendJson(res, 200, normalized, headers);
}
