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
   * per message id, and each receipt as the `receipt` of the line it is about, once per message
   * id and status (its mark is a line of the conversation `receipts/<external user id>`).
   */
  outbox?: Pick<Outbox, 'transcript'>;
  /**
   * Called once per message id (per id and status for receipts; Genesys retries are dropped),
   * after it was recorded. With an
   * `outbox`, "once" holds across restarts and across worker processes sharing its store; a
   * handler that dies while `onMessage` runs leaves the hand-off pending, and a Genesys retry
   * that comes after `handoffTimeoutMs` calls `onMessage` again (at least once, never lost while
   * Genesys retries). A rejection answers 500, so Genesys retries and the retry hands it on.
   */
  onMessage?: (message: OpenMessagingWebhookMessage) => void | Promise<void>;
  /** Larger bodies get 413 before they are read whole. @default 1_048_576 (1 MiB) */
  maxBodyBytes?: number;
  /**
   * How long a hand-off to `onMessage` that another handler (this process before a restart, or
   * another worker) started may run before a Genesys retry of the same message takes it over.
   * Retries within this time get 503 (Genesys retries a 5xx, 5 s apart, up to 5 times), so keep
   * it below Genesys' retry window; an `onMessage` that runs longer may be called twice.
   * @default 15000
   */
  handoffTimeoutMs?: number;
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

/** What a handled message comes to: new, known, or being handed on by another handler now. */
type Verdict = 'recorded' | 'duplicate' | 'busy';

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
    'secret outbox onMessage maxBodyBytes handoffTimeoutMs',
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
  const handoffTimeoutMs = options.handoffTimeoutMs ?? 15_000;
  if (!Number.isFinite(handoffTimeoutMs) || handoffTimeoutMs < 0) {
    throw new OutboxError('invalid-options', 'handoffTimeoutMs must be a number ≥ 0');
  }
  /** Message ids handled (bounded), and those being handled now (a retry racing the first try). */
  const seen = new Set<string>();
  const handling = new Map<string, Promise<Verdict>>();

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

  /**
   * Claims `line` (a transcript line or a mark) in the store and runs `handOn` once: for every
   * process sharing the store, only the claim's winner runs it. A line claimed before is
   * 'duplicate' when its hand-on finished, 'busy' while one runs (within handoffTimeoutMs).
   * `handOn` failing leaves the mark pending with no age, so the next retry (here or in another
   * worker) takes it over at once; succeeding marks it done (a failure to note that only matters
   * if Genesys retries, which the 200 stops). Without `handOn`, the claim alone records it.
   */
  async function handOff(
    box: Pick<Outbox, 'transcript'>,
    line: TranscriptRecord,
    now: number,
    handOn: (() => Promise<void> | void) | undefined,
  ): Promise<Verdict> {
    const claimed = await box.transcript.claim(line, now - handoffTimeoutMs);
    if (claimed === undefined) {
      const known = await box.transcript.get(line.key);
      return known?.handoff?.state === 'pending' ? 'busy' : 'duplicate';
    }
    if (handOn === undefined) return 'recorded';
    try {
      await handOn();
    } catch (e: unknown) {
      await box.transcript
        .record([{ ...claimed, handoff: { state: 'pending', since: 0 } }])
        .catch(() => {});
      throw e;
    }
    await box.transcript
      .record([{ ...claimed, handoff: { state: 'done', since: now } }])
      .catch(() => {});
    return 'recorded';
  }

  /**
   * Records and hands on one message; resolves with what to answer. A text message with an
   * outbox is de-duplicated durably: its transcript line (key = the message id) is claimed in the
   * store, atomically for every process sharing it, before `onMessage` runs, with a `handoff`
   * mark that says whether `onMessage` finished. Why this order: recording after `onMessage`
   * would let two workers given the same message both hand it on; recording before without the
   * mark would lose it for good when the process died between the two. With the mark, a crash
   * in that window costs at most one repeat of `onMessage` (by a retry after handoffTimeoutMs).
   */
  async function handle(message: OpenMessagingWebhookMessage): Promise<Verdict> {
    const conversationId = message.channel?.to?.id ?? message.channel?.from?.id;
    if (outbox !== undefined && typeof conversationId === 'string') {
      if (message.type === 'Receipt' || (typeof message.text !== 'string' && onMessage)) {
        // A receipt (or a message without text, handed on only): de-duplicated durably by a
        // mark of its own in the store, claimed as a text line is (below), in a conversation of
        // marks beside the customer's (`receipts/<id>`: never listed with it, pruned to the
        // same retention). The mark comes first, the receipt's effect on its line and the hand-
        // on after: a retry of a receipt recorded before (to another worker, after a restart)
        // changes nothing, so a late retry of an older status cannot overwrite a newer one.
        const now = Date.now();
        const mark: TranscriptRecord = {
          key: `${message.type === 'Receipt' ? 'receipt' : 'message'}/${message.id}/${message.status ?? ''}`,
          conversationId: `receipts/${conversationId}`,
          direction: 'Outbound',
          text: '',
          time: now,
          order: now * 1000,
          handoff: { state: 'pending', since: now },
        };
        return handOff(outbox, mark, now, async () => {
          if (message.type === 'Receipt') {
            // A receipt about a line we have: keep the line, note the receipt.
            const key = message.channel?.messageId ?? message.id;
            const lines = await outbox.transcript.list(conversationId);
            const line = lines.find((l) => l.key === key || l.serverId === message.id);
            if (line !== undefined) {
              await outbox.transcript.record([{ ...line, receipt: String(message.status) }]);
            }
          }
          await onMessage?.(message);
        });
      } else if (typeof message.text === 'string') {
        const now = Date.now();
        const time = Date.parse(message.channel?.time ?? '');
        const record: TranscriptRecord = {
          key: message.id,
          conversationId,
          direction: 'Outbound',
          text: message.text,
          time: Number.isFinite(time) ? time : now,
          serverId: message.id,
          ...(typeof message.originatingEntity === 'string'
            ? { originatingEntity: message.originatingEntity }
            : {}),
          ...(onMessage === undefined ? {} : { handoff: { state: 'pending', since: now } }),
        };
        const handOn = onMessage;
        return handOff(outbox, record, now, handOn && (() => handOn(message)));
      }
    }
    await onMessage?.(message);
    return 'recorded';
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
      // Receipts share the message's id: de-duplicate on id + type + status. `seen` spares a
      // retry in this process the store; the store is what makes it hold across processes.
      const key = `${message.id}\u0000${message.type ?? ''}\u0000${message.status ?? ''}`;
      if (seen.has(key)) return answer(res, 200, 'already recorded');
      let p = handling.get(key);
      const first = p === undefined;
      if (p === undefined) {
        p = handle(message).finally(() => handling.delete(key));
        handling.set(key, p);
      }
      let verdict: Verdict;
      try {
        verdict = await p;
      } catch {
        return answer(res, 500, 'could not record; retry');
      }
      if (verdict === 'busy') return answer(res, 503, 'being handed on by another handler; retry');
      seen.add(key);
      if (seen.size > SEEN_MEMORY) seen.delete(seen.values().next().value as string);
      answer(res, 200, first && verdict === 'recorded' ? 'recorded' : 'already recorded');
    })().catch(() => answer(res, 500, 'error'));
  };
}
