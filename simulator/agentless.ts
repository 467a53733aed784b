import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimulatorContext } from './context.js';
import { newUuid } from './ids.js';
import { passMessageGate } from './messageGate.js';
import {
  isNonEmptyString,
  isRecord,
  parseJson,
  platformError,
  readBody,
  sendJson,
  sendPlatformError,
} from './respond.js';

export const AGENTLESS_PATH = '/api/v2/conversations/messages/agentless';

function validate(body: unknown): string | undefined {
  if (!isRecord(body)) return 'The request body must be a JSON object.';
  if (!isNonEmptyString(body['fromAddress'])) return 'fromAddress is required.';
  if (!isNonEmptyString(body['toAddressMessengerType'])) {
    return 'toAddressMessengerType is required.';
  }
  if (!isNonEmptyString(body['toAddress']) && !isNonEmptyString(body['externalContactId'])) {
    return 'toAddress or externalContactId is required.';
  }
  if (!isNonEmptyString(body['textBody']) && !isRecord(body['messagingTemplate'])) {
    return 'textBody or messagingTemplate is required.';
  }
  const existing = body['useExistingActiveConversation'];
  if (existing !== undefined && typeof existing !== 'boolean') {
    return 'useExistingActiveConversation must be a boolean.';
  }
  return undefined;
}

/**
 * `POST /api/v2/conversations/messages/agentless` (the SDK's `SendAgentlessOutboundMessageRequest`
 * → `SendAgentlessOutboundMessageResponse`): an outbound message with no agent. Requires
 * `fromAddress`, `toAddressMessengerType`, `toAddress` or `externalContactId`, and `textBody` or
 * `messagingTemplate`. Answers 202 with `{id, conversationId, fromAddress, toAddress, messengerType,
 * textBody, timestamp, …}`; recorded in `control.agentless()`. Meets the same gate (token, faults)
 * as the other message endpoints.
 */
export async function handleAgentless(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: SimulatorContext,
): Promise<void> {
  const bodyText = await readBody(req);
  const headers = passMessageGate(req, res, ctx);
  if (headers === undefined) return;
  const body = parseJson(bodyText);
  const problem = validate(body);
  if (problem !== undefined || !isRecord(body)) {
    sendPlatformError(res, platformError(400, 'bad.request', problem ?? 'Bad request.'), headers);
    return;
  }
  const now = ctx.clock.now();
  const record = { id: newUuid(), conversationId: newUuid(), body, receivedAt: now };
  ctx.agentless.push(record);
  const answer: Record<string, unknown> = {
    id: record.id,
    conversationId: record.conversationId,
    fromAddress: body['fromAddress'],
    messengerType: body['toAddressMessengerType'],
    timestamp: new Date(now).toISOString(),
  };
  if (body['toAddress'] !== undefined) answer['toAddress'] = body['toAddress'];
  if (body['textBody'] !== undefined) answer['textBody'] = body['textBody'];
  if (body['useExistingActiveConversation'] !== undefined) {
    answer['useExistingActiveConversation'] = body['useExistingActiveConversation'];
  }
  sendJson(res, ctx.options.agentlessStatus, answer, headers);
}
