import { nodeFetch } from './nodeFetch.js';
import { readOptions } from '../internal/options.js';
import { OutboxError } from '../errors/OutboxError.js';
import type { OutboxEntry } from '../outbox/entry.js';
import { resolveRegion } from '../internal/regions.js';
import { toTokenProvider, type TokenSource } from '../auth/tokenProvider.js';
import { COMMON, checkUrl, postTransport, resolveCommon, type HttpCommonOptions } from './http.js';
import type { Transport } from './Transport.js';

/** The external user a message comes from (`channel.from`). */
export interface OpenMessagingFrom {
  id: string;
  idType: 'Email' | 'Phone' | 'Opaque';
  nickname?: string;
}

/** Options of {@link openMessagingTransport}. */
export interface OpenMessagingTransportOptions extends HttpCommonOptions {
  /** Genesys Cloud region, e.g. `eu_west_1`. Either this or `apiUrl`. */
  region?: string;
  /** Platform API base URL, e.g. `https://api.mypurecloud.ie` or a simulator URL. Wins over `region`. */
  apiUrl?: string;
  /** The Open Messaging integration id. */
  integrationId: string;
  /** Bearer tokens, normally `clientCredentials(...)`. */
  tokenProvider: TokenSource;
  /**
   * The `fetch` to use. @default Node's own HTTP client (node:http / node:https with keep-alive
   * agents; redirects not followed), which costs a relay less CPU per delivery than the global
   * fetch; pass `globalThis.fetch`, or your own, to use that instead
   */
  fetch?: typeof globalThis.fetch;
  /**
   * The sender of an entry.
   * @default (entry) => ({ id: entry.metadata?.fromId ?? entry.conversationId, idType: 'Opaque' })
   */
  from?: (entry: OutboxEntry) => OpenMessagingFrom;
}

/** A delivery receipt for an agent/bot message the server handed on (Genesys: Delivered | Failed). */
export interface OpenMessagingReceipt {
  /** The Genesys id of the outbound message (`id` of the webhook's NormalizedMessage). */
  id: string;
  /** The external user it was for (`channel.to` of that message). */
  to: { id: string; idType?: string };
  status: 'Delivered' | 'Failed';
  /** With `Failed`: why. */
  reasons?: { code: string; message?: string }[];
}

/** The Open Messaging transport, plus receipts for the other direction. */
export interface OpenMessagingTransport extends Transport {
  /**
   * Posts a receipt to `…/{integrationId}/inbound/open/receipt` (one attempt; rejects with an
   * OutboxError on a network failure or a non-2xx answer, so the caller can retry).
   */
  postReceipt(receipt: OpenMessagingReceipt): Promise<void>;
}

/** The Open Messaging inbound body (genesys-api.md §5); `channel.messageId` is the entry id. */
function openMessagingBody(entry: OutboxEntry, from: OpenMessagingFrom): unknown {
  return {
    channel: { messageId: entry.id, time: new Date(entry.createdAt).toISOString(), from },
    text: entry.text,
  };
}

const defaultFrom = (entry: OutboxEntry): OpenMessagingFrom => ({
  id: entry.metadata?.fromId ?? entry.conversationId,
  idType: 'Opaque',
});

/**
 * Server-to-server delivery through Genesys Open Messaging:
 * `POST <apiUrl>/api/v2/conversations/messages/<integrationId>/inbound/open/message`
 * with a Bearer token (Node; pair with `clientCredentials`). Same outcome rules as `httpTransport`.
 *
 * @example
 * openMessagingTransport({ region: 'eu_west_1', integrationId, tokenProvider: clientCredentials({ ... }) })
 */
export function openMessagingTransport(
  input: OpenMessagingTransportOptions,
): OpenMessagingTransport {
  const options = readOptions(
    'openMessagingTransport',
    input,
    `region apiUrl integrationId tokenProvider from ${COMMON}`,
  );
  const { integrationId, from = defaultFrom } = options;
  if (typeof integrationId !== 'string' || integrationId === '') {
    throw new OutboxError('invalid-options', 'integrationId must be a non-empty string');
  }
  if (typeof from !== 'function')
    throw new OutboxError('invalid-options', 'from must be a function');
  if (options.tokenProvider === undefined)
    throw new OutboxError('invalid-options', 'tokenProvider is required');
  let apiUrl: string;
  if (typeof options.apiUrl === 'string' && options.apiUrl !== '') apiUrl = options.apiUrl;
  else if (options.apiUrl !== undefined)
    throw new OutboxError('invalid-options', 'apiUrl must be a non-empty string');
  else if (options.region !== undefined) apiUrl = resolveRegion(options.region).apiUrl;
  else throw new OutboxError('invalid-options', 'openMessagingTransport needs region or apiUrl');
  checkUrl('apiUrl', apiUrl, options.fetch);
  const base = `${apiUrl.replace(/\/+$/, '')}/api/v2/conversations/messages/${encodeURIComponent(integrationId)}/inbound/open`;
  // Node's own HTTP client unless the caller brings a fetch: a relay pays per delivery for
  // what the global fetch builds around each request (src/transport/nodeFetch.ts).
  const common = { ...resolveCommon(options), fetch: options.fetch ?? nodeFetch };
  const tokens = toTokenProvider(options.tokenProvider);
  if (tokens === undefined) throw new OutboxError('invalid-options', 'tokenProvider is required');
  const transport = postTransport({
    ...common,
    name: 'open-messaging',
    url: `${base}/message`,
    body: (entry) => openMessagingBody(entry, from(entry)),
    tokens,
  });
  return Object.assign(transport, {
    async postReceipt(receipt: OpenMessagingReceipt): Promise<void> {
      const body = {
        id: receipt.id,
        channel: {
          to: { id: receipt.to.id, idType: receipt.to.idType ?? 'Opaque' },
          time: new Date().toISOString(),
        },
        status: receipt.status,
        direction: 'Outbound',
        isFinalReceipt: true,
        ...(receipt.reasons === undefined ? {} : { reasons: receipt.reasons }),
      };
      const doFetch = common.fetch;
      let res: Response;
      try {
        res = await doFetch(`${base}/receipt`, {
          method: 'POST',
          headers: {
            ...options.headers,
            authorization: `Bearer ${await tokens.getToken()}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify(body),
          redirect: 'manual',
          signal: AbortSignal.timeout(common.timeoutMs),
        });
        await res.arrayBuffer();
      } catch (error: unknown) {
        throw new OutboxError('network', 'receipt not posted: network failure', { cause: error });
      }
      if (res.status === 401) tokens.invalidate();
      if (res.status < 200 || res.status >= 300) {
        throw new OutboxError('server-error', `receipt not posted: HTTP ${res.status}`, {
          status: res.status,
        });
      }
    },
  });
}
