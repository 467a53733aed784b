// Open Messaging, the outbound direction (genesys-api.md has only inbound): the simulator posts
// agent and bot messages to the integration's outbound webhook, signed like Genesys
// (`X-Hub-Signature-256: sha256=<base64 HMAC-SHA256 of the body>`, per Genesys' "Validate
// webhook notifications" page), retrying a non-2xx answer or a network failure with backoff
// (Genesys: up to 5 retries, 5 s apart, 10 s timeout each; here the delay is configurable).
// Receipts posted back (`…/inbound/open/receipt`) are in `control.openInbound()`.
import { createHmac } from 'node:crypto';
import type { SimulatorContext } from './context.js';
import { newHexId } from './ids.js';

/** One webhook delivery attempt. */
export interface OpenWebhookAttempt {
  messageId: string;
  status: number | 'network-error';
  at: number;
}

export interface OpenWebhookOptions {
  url: string;
  secret: string;
  /** Retries after the first attempt. @default 5 */
  retries?: number;
  /** Delay before retry n (1-based) is `retryDelayMs × 2^(n-1)`. @default 100 */
  retryDelayMs?: number;
  /** Per attempt. @default 10000 */
  timeoutMs?: number;
  integrationId?: string;
}

export interface AgentOpenMessage {
  /** The external user (the `channel.from` of their inbound messages). */
  to: { id: string; idType?: string };
  text: string;
  /** @default 'Human' */
  originatingEntity?: 'Human' | 'Bot';
}

/** The outbound side of Open Messaging in the simulator. */
export class OpenMessagingOutbound {
  private webhook: Required<OpenWebhookOptions> | undefined;
  readonly webhookAttempts: OpenWebhookAttempt[] = [];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly ctx: SimulatorContext) {}

  configureWebhook(options: OpenWebhookOptions | undefined): void {
    this.webhook =
      options === undefined
        ? undefined
        : {
            retries: 5,
            retryDelayMs: 100,
            timeoutMs: 10_000,
            integrationId: 'sim-integration',
            ...options,
          };
  }

  /**
   * An agent (or bot) message to the external user: posted to the webhook as a NormalizedMessage.
   * Resolves with its id and the HTTP status of the attempt that succeeded, or the last one.
   */
  async agentMessage(message: AgentOpenMessage): Promise<{ id: string; delivered: boolean }> {
    const hook = this.webhook;
    if (hook === undefined) throw new Error('no outbound webhook configured');
    const id = newHexId();
    const body = JSON.stringify({
      id,
      channel: {
        id: hook.integrationId,
        platform: 'Open',
        type: 'Private',
        to: { id: message.to.id, idType: message.to.idType ?? 'Opaque' },
        from: { nickname: 'Agent', id: hook.integrationId, idType: 'Opaque' },
        time: new Date(this.ctx.clock.now()).toISOString(),
      },
      type: 'Text',
      text: message.text,
      originatingEntity: message.originatingEntity ?? 'Human',
      direction: 'Outbound',
    });
    const signature = `sha256=${createHmac('sha256', hook.secret).update(body).digest('base64')}`;
    for (let attempt = 0; attempt <= hook.retries; attempt++) {
      if (attempt > 0) await this.sleep(hook.retryDelayMs * 2 ** (attempt - 1));
      let status: number | 'network-error';
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
          body,
          signal: AbortSignal.timeout(hook.timeoutMs),
        });
        await res.arrayBuffer();
        status = res.status;
      } catch {
        status = 'network-error';
      }
      this.webhookAttempts.push({ messageId: id, status, at: Date.now() });
      if (typeof status === 'number' && status >= 200 && status < 300)
        return { id, delivered: true };
    }
    return { id, delivered: false };
  }

  reset(): void {
    this.webhookAttempts.length = 0;
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }
}
