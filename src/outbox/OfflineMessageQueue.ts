import { clientCredentials } from '../auth/clientCredentials.js';
import type { TokenProvider } from '../auth/tokenProvider.js';
import { OutboxError } from '../errors/OutboxError.js';
import { resolveRegion } from '../internal/regions.js';
import type { RetryOptions } from '../retry/options.js';
import { migrateTutorialQueue } from '../store/migrateTutorial.js';
import type { OutboxStore } from '../store/OutboxStore.js';
import { httpTransport } from '../transport/http.js';
import { openOutbox } from './createOutbox.js';
import type { Outbox, OutboxOptions } from './createOutbox.js';
import { assertConversationId } from './validate.js';

/** The path the tutorial posted to. It is the tutorial's own, not a public Genesys Cloud API. */
export const TUTORIAL_MESSAGES_PATH = '/api/v2/conversations/messaging/messages';

/** Options of {@link OfflineMessageQueue}: the tutorial's config, made correct. */
export interface OfflineMessageQueueConfig {
  /** Genesys Cloud region (e.g. `us_east_1`), used for `apiBaseUrl`/`loginBaseUrl` defaults. @default 'us_east_1' */
  region?: string;
  /** Accepted for compatibility with the tutorial; not used (`<org>.mypurecloud.com` is not a Genesys host). */
  organizationId?: string;
  /** OAuth client (Node only: a secret in a browser is public, so this refuses to run there). */
  clientId?: string;
  clientSecret?: string;
  /** Browser: where your page gets an access token (from your own backend). */
  getAccessToken?: () => string | Promise<string>;
  /** @default `https://api.<region host>` */
  apiBaseUrl?: string;
  /** @default `https://login.<region host>` */
  loginBaseUrl?: string;
  retry?: RetryOptions;
  /** @default indexedDbStore (a polyfill such as `fake-indexeddb/auto` in Node, as the tutorial said) */
  store?: OutboxStore;
  /** Anything else `createOutbox` accepts (clock, logger, connectivity, …). */
  outbox?: Omit<OutboxOptions, 'transport' | 'store' | 'retry'>;
  /** @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
  /** Import messages left in the tutorial's IndexedDB queue on `initialize()`. @default true where indexedDB exists */
  migrateTutorialData?: boolean;
}

/**
 * The tutorial's public names on top of the outbox: `initialize()` and
 * `enqueueMessage(guestId, conversationId, text)`. Messages are stored durably before
 * `enqueueMessage` resolves and posted to `<apiBaseUrl>/api/v2/conversations/messaging/messages`
 * as `{ guestId, conversationId, text, externalId }`.
 *
 * @example
 * import 'fake-indexeddb/auto'; // Node only
 * const queue = new OfflineMessageQueue({ region: 'eu_west_1', clientId, clientSecret });
 * await queue.initialize();
 * const id = await queue.enqueueMessage(guestId, conversationId, 'Hello');
 */
export class OfflineMessageQueue {
  private readonly tokens: TokenProvider | (() => string | Promise<string>);
  private readonly url: string;
  private box: Outbox | undefined;
  private starting: Promise<Outbox> | undefined;

  constructor(private readonly config: OfflineMessageQueueConfig) {
    if (typeof config !== 'object' || config === null) {
      throw new OutboxError('invalid-options', 'OfflineMessageQueue takes a config object');
    }
    const region =
      config.apiBaseUrl !== undefined && config.loginBaseUrl !== undefined
        ? undefined
        : resolveRegion(config.region ?? 'us_east_1');
    const apiBaseUrl = config.apiBaseUrl ?? region?.apiUrl ?? '';
    this.url = apiBaseUrl.replace(/\/+$/, '') + TUTORIAL_MESSAGES_PATH;
    if (typeof config.getAccessToken === 'function') {
      this.tokens = config.getAccessToken;
    } else if (typeof config.clientId === 'string' && typeof config.clientSecret === 'string') {
      // Throws OutboxError('insecure-context') in a browser: the secret would be public.
      this.tokens = clientCredentials({
        loginUrl: config.loginBaseUrl ?? region?.loginUrl ?? '',
        clientId: config.clientId,
        clientSecret: config.clientSecret,
        ...(config.fetch === undefined ? {} : { fetch: config.fetch }),
      });
    } else {
      throw new OutboxError(
        'invalid-options',
        'give either getAccessToken (browser) or clientId and clientSecret (Node)',
      );
    }
  }

  /** Opens the store, imports any tutorial data, resumes pending messages. Idempotent. */
  initialize(): Promise<Outbox> {
    this.starting ??= this.open();
    return this.starting;
  }

  private async open(): Promise<Outbox> {
    const { config } = this;
    const migrate = config.migrateTutorialData ?? typeof indexedDB !== 'undefined';
    const box = await openOutbox(
      {
        ...config.outbox,
        ...(config.store === undefined ? {} : { store: config.store }),
        ...(config.retry === undefined ? {} : { retry: config.retry }),
        transport: httpTransport({
          url: this.url,
          getAccessToken: this.tokens,
          ...(config.fetch === undefined ? {} : { fetch: config.fetch }),
        }),
      },
      // Before anything is sent, so tutorial messages go first; they keep their ids, so the
      // server still sees each one once.
      migrate
        ? (store) =>
            migrateTutorialQueue({ store, defaultConversationId: 'default' }).then(() => {})
        : undefined,
    );
    this.box = box;
    return box;
  }

  /**
   * Stores one message durably and returns its id (also its `externalId` on the wire).
   * Rejects with `OutboxError` (and stores nothing) on bad input.
   */
  async enqueueMessage(guestId: string, conversationId: string, text: string): Promise<string> {
    const box = this.outbox;
    if (typeof guestId !== 'string' || guestId.trim() === '') {
      throw new OutboxError('invalid-metadata', 'guestId must be a non-empty string');
    }
    assertConversationId(conversationId);
    const entry = await box.send({ text, conversationId, metadata: { guestId } });
    return entry.id;
  }

  /** The outbox behind the facade (for `subscribe`, `list`, `whenSettled`, …). */
  get outbox(): Outbox {
    if (this.box === undefined) {
      throw new OutboxError('invalid-state', 'call initialize() first');
    }
    return this.box;
  }

  close(): Promise<void> {
    return this.box?.close() ?? Promise.resolve();
  }
}
