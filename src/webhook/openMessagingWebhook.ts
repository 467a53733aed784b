// Node only (exported from `genesys-webmessaging-outbox/node`): the other direction of Open
// Messaging. Genesys posts each agent/bot message (and receipts) to the integration's
// outboundNotificationWebhookUrl, signed in `X-Hub-Signature-256`.
//
// The signature, per Genesys' "Validate webhook notifications" page (developer.genesys.cloud,
// commdigital/digital/openmessaging/validate): `sha256=` + BASE64 of HMAC-SHA256 over the body
// with the integration's outboundNotificationWebhookSignatureSecretToken. Genesys' sample hashes
// JSON.stringify of the parsed body; we hash the raw bytes as received (the same bytes unless a
// proxy re-encoded them: unconfirmed which one Genesys signs when they differ). Genesys retries a
// webhook up to 5 times on a timeout (10 s) or a 429/5xx, 5 s apart (same page).
import { readOptions } from '../internal/options.js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OutboxError } from '../errors/OutboxError.js';
import type { Outbox } from '../outbox/createOutbox.js';
import type { TranscriptRecord } from '../store/OutboxStore.js';

/** An outbound NormalizedMessage as Genesys posts it (the fields this library reads). */
export interface OpenMessagingWebhookMessage {
  id: string;
  type?: string;
  text?: string;
  direction?: string;
  originatingEntity?: string;
  status?: string;
  channel?: {
    time?: string;
    messageId?: string;
    to?: { id?: string; idType?: string };
    from?: { id?: string; idType?: string; nickname?: string };
  };
  [key: string]: unknown;
}

/** Options of {@link openMessagingWebhook}. */
export interface OpenMessagingWebhookOptions {
  /** The integration's outboundNotificationWebhookSignatureSecretToken. */
  secret: string;
  /**
   * The outbox whose transcript gets each agent/bot message (conversation = `channel.to.id`, the
   * external user id, which is what openMessagingTransport sends as `from.id` by default), once
   * per message id, and each receipt as the `receipt` of the line it is about.
   */
  outbox?: Pick<Outbox, 'transcript'>;
  /** Called once per message id (Genesys retries are dropped), after it was recorded. */
  onMessage?: (message: OpenMessagingWebhookMessage) => void | Promise<void>;
  /** Larger bodies get 413 before they are read whole. @default 1_048_576 (1 MiB) */
  maxBodyBytes?: number;
}

const SEEN_MEMORY = 10_000;

/** The value Genesys puts in X-Hub-Signature-256 for `body` (exported for tests and the simulator). */
export function openMessagingSignature(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('base64')}`;
}

/** Constant-time comparison of the header against the expected signature. */
function signatureMatches(header: unknown, expected: string): boolean {
  if (typeof header !== 'string') return false;
  const a = Buffer.from(header);
  const b = Buffer.from(expected);
  // Equal lengths for timingSafeEqual; a wrong length still costs one comparison.
  if (a.length !== b.length) {
    timingSafeEqual(b, b);
    return false;
  }
  return timingSafeEqual(a, b);
}

type Req = IncomingMessage & { body?: unknown; rawBody?: unknown };

/**
 * A `(req, res)` handler for `node:http` (and Express / Fastify when they hand over the raw body
 * as a Buffer in `req.rawBody` or `req.body`). Answers 405 for anything but POST, 413 over
 * `maxBodyBytes`, 401 when the signature is missing or wrong (before parsing; nothing recorded),
 * 400 for a body that is not a message, 200 once the message is recorded (or was already), and 500
 * when recording failed (so Genesys retries).
 *
 * @example
 * http.createServer(openMessagingWebhook({ secret: process.env.OM_SECRET, outbox })).listen(8080);
 */
export function openMessagingWebhook(
  input: OpenMessagingWebhookOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const options = readOptions(
    'openMessagingWebhook',
    input,
    'secret outbox onMessage maxBodyBytes',
  );
  const { secret, outbox, onMessage } = options;
  if (typeof secret !== 'string' || secret === '') {
    throw new OutboxError('invalid-options', 'secret must be a non-empty string');
  }
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new OutboxError('invalid-options', 'maxBodyBytes must be a whole number ≥ 1');
  }
  if (onMessage !== undefined && typeof onMessage !== 'function') {
    throw new OutboxError('invalid-options', 'onMessage must be a function');
  }
  /** Message ids handled (bounded), and those being handled now (a retry racing the first try). */
  const seen = new Set<string>();
  const handling = new Map<string, Promise<void>>();

  const answer = (res: ServerResponse, status: number, body: string): void => {
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(body);
  };

  async function readBody(req: Req): Promise<Buffer | 'too-large'> {
    for (const given of [req.rawBody, req.body]) {
      if (Buffer.isBuffer(given)) return given.length > maxBodyBytes ? 'too-large' : given;
      if (typeof given === 'string') {
        const b = Buffer.from(given);
        return b.length > maxBodyBytes ? 'too-large' : b;
      }
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBodyBytes) return 'too-large';
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      size += b.length;
      if (size > maxBodyBytes) return 'too-large';
      chunks.push(b);
    }
    return Buffer.concat(chunks);
  }

  async function handle(message: OpenMessagingWebhookMessage): Promise<void> {
    const conversationId = message.channel?.to?.id ?? message.channel?.from?.id;
    if (outbox !== undefined && typeof conversationId === 'string') {
      if (message.type === 'Receipt') {
        // A receipt about a line we have: keep the line, note the receipt.
        const key = message.channel?.messageId ?? message.id;
        const lines = await outbox.transcript.list(conversationId);
        const line = lines.find((l) => l.key === key || l.serverId === message.id);
        if (line !== undefined) {
          await outbox.transcript.record([{ ...line, receipt: String(message.status) }]);
        }
      } else if (typeof message.text === 'string') {
        const time = Date.parse(message.channel?.time ?? '');
        const record: TranscriptRecord = {
          key: message.id,
          conversationId,
          direction: 'Outbound',
          text: message.text,
          time: Number.isFinite(time) ? time : Date.now(),
          serverId: message.id,
          ...(typeof message.originatingEntity === 'string'
            ? { originatingEntity: message.originatingEntity }
            : {}),
        };
        await outbox.transcript.record([record]);
      }
    }
    await onMessage?.(message);
  }

  return (req, res) => {
    void (async () => {
      if (req.method !== 'POST') return answer(res, 405, 'POST only');
      const body = await readBody(req as Req);
      if (body === 'too-large') {
        answer(res, 413, 'body too large');
        req.resume(); // drain what is left without keeping it
        return;
      }
      const header = req.headers['x-hub-signature-256'];
      if (!signatureMatches(header, openMessagingSignature(secret, body))) {
        return answer(res, 401, 'bad signature');
      }
      let message: OpenMessagingWebhookMessage;
      try {
        message = JSON.parse(body.toString('utf8')) as OpenMessagingWebhookMessage;
      } catch {
        return answer(res, 400, 'not JSON');
      }
      if (typeof message !== 'object' || message === null || typeof message.id !== 'string') {
        return answer(res, 400, 'not a message (no id)');
      }
      // Receipts share the message's id: de-duplicate on id + type + status.
      const key = `${message.id}\u0000${message.type ?? ''}\u0000${message.status ?? ''}`;
      if (seen.has(key)) return answer(res, 200, 'already recorded');
      let p = handling.get(key);
      if (p === undefined) {
        p = handle(message).finally(() => handling.delete(key));
        handling.set(key, p);
        try {
          await p;
        } catch {
          return answer(res, 500, 'could not record; retry');
        }
        seen.add(key);
        if (seen.size > SEEN_MEMORY) seen.delete(seen.values().next().value as string);
        return answer(res, 200, 'recorded');
      }
      try {
        await p;
        answer(res, 200, 'already recorded');
      } catch {
        answer(res, 500, 'could not record; retry');
      }
    })().catch(() => answer(res, 500, 'error'));
  };
}
