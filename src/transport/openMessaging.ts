import { OutboxError } from '../errors/OutboxError.js';
import type { OutboxEntry } from '../outbox/entry.js';
import { resolveRegion } from '../internal/regions.js';
import { toTokenProvider, type TokenSource } from '../auth/tokenProvider.js';
import { checkUrl, postTransport, resolveCommon, type HttpCommonOptions } from './http.js';
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
   * The sender of an entry.
   * @default (entry) => ({ id: entry.metadata?.fromId ?? entry.conversationId, idType: 'Opaque' })
   */
  from?: (entry: OutboxEntry) => OpenMessagingFrom;
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
export function openMessagingTransport(options: OpenMessagingTransportOptions): Transport {
  if (typeof options !== 'object' || options === null) {
    throw new OutboxError('invalid-options', 'openMessagingTransport options must be an object');
  }
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
  const url = `${apiUrl.replace(/\/+$/, '')}/api/v2/conversations/messages/${encodeURIComponent(integrationId)}/inbound/open/message`;
  return postTransport({
    ...resolveCommon(options),
    name: 'open-messaging',
    url,
    body: (entry) => openMessagingBody(entry, from(entry)),
    tokens: toTokenProvider(options.tokenProvider),
  });
}
