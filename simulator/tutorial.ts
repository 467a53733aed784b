import type { IncomingMessage, ServerResponse } from 'node:http';
import { keyOf } from './attempts.js';
import type { SimulatorContext, TutorialMessage } from './context.js';
import { newUuid } from './ids.js';
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

export const TUTORIAL_PATH = '/api/v2/conversations/messaging/messages';

const FIELDS = ['conversationId', 'text', 'externalId'] as const;

/**
 * The tutorial's endpoint, `POST /api/v2/conversations/messaging/messages` with
 * `{guestId?, conversationId, text, externalId}` (`guestId` optional, as `httpTransport`'s default
 * body sends it only when the entry's metadata has one). Not a Genesys API (genesys-api.md §0): it stands
 * for a user's own relay. 200 with the stored message; 409 when `externalId` is already stored.
 */
export async function handleTutorialMessage(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: SimulatorContext,
): Promise<void> {
  const bodyText = await readBody(req);
  const key = keyOf(parseJson(bodyText), ['externalId']);
  const attempt = ctx.attempts.add(
    'tutorial',
    key,
    key !== undefined && ctx.deliveries.has('tutorial', key),
  );
  const headers = passMessageGate(req, res, ctx);
  if (headers === undefined) return;

  const body = parseJson(bodyText);
  if (!isRecord(body)) {
    sendPlatformError(
      res,
      platformError(400, 'bad.request', 'The request body must be a JSON object.'),
      headers,
    );
    return;
  }
  for (const field of FIELDS) {
    if (!isNonEmptyString(body[field])) {
      sendPlatformError(
        res,
        platformError(
          400,
          'bad.request',
          `Missing or invalid field: ${field} (a non-empty string).`,
        ),
        headers,
      );
      return;
    }
  }
  const guestId = body['guestId'];
  if (guestId !== undefined && !isNonEmptyString(guestId)) {
    sendPlatformError(
      res,
      platformError(400, 'bad.request', 'Invalid field: guestId (a non-empty string).'),
      headers,
    );
    return;
  }
  const { conversationId, text, externalId } = body as Record<(typeof FIELDS)[number], string>;

  if (ctx.tutorialMessages.has(externalId)) {
    sendPlatformError(
      res,
      platformError(409, 'conflict', `A message with externalId ${externalId} already exists.`),
      headers,
    );
    return;
  }

  const now = ctx.clock.now();
  const stored: TutorialMessage = {
    id: newUuid(),
    ...(guestId === undefined ? {} : { guestId }),
    conversationId,
    text,
    externalId,
    timestamp: new Date(now).toISOString(),
  };
  ctx.tutorialMessages.set(externalId, stored);
  attempt.stored = true;
  ctx.deliveries.add({
    kind: 'tutorial',
    path: TUTORIAL_PATH,
    externalId,
    conversationId,
    text,
    receivedAt: now,
    serverId: stored.id,
  });

  if (ctx.faults.takeCommitThenDrop()) {
    attempt.answerDropped = true;
    resetSocket(req.socket);
    return;
  }
  sendJson(res, 200, stored, headers);
}
