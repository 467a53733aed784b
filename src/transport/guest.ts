import { invalidOptions, numberOption, readOptions } from '../internal/options.js';
import { OutboxError } from '../errors/OutboxError.js';
import type { OutboxEntry } from '../outbox/entry.js';
import type { Logger } from '../internal/logger.js';
import { resolveRegion } from '../internal/regions.js';
import { uuid } from '../internal/uuid.js';
import type { Transport, TransportContext } from './Transport.js';
import type { guestSession } from './guest/session.js';

/**
 * A WebSocket constructor: the browser's `WebSocket`, or `WebSocket` from the `ws` package in Node 20.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WebSocketConstructor = new (url: string, ...rest: any[]) => object;

/** Options of {@link guestTransport}. */
export interface GuestTransportOptions {
  /** Genesys Cloud region (`eu_west_1`, `eu-west-1` or `mypurecloud.ie`). Or give both URLs below. */
  region?: string;
  /** Guest API WebSocket base, e.g. `wss://webmessaging.mypurecloud.ie` (`/v1` is added when the path is empty). */
  webSocketUrl?: string;
  /** REST base that serves `/api/v2/webmessaging/messages`, e.g. `https://api.mypurecloud.ie`. */
  apiBaseUrl?: string;
  /** The Messenger deployment id: 1–128 characters of `A–Z a–z 0–9 -` (a UUID in practice). */
  deploymentId: string;
  /** Guest session token (1–2048 chars). @default generated once and kept in the outbox's store */
  sessionToken?: string;
  /** WebSocket constructor. @default globalThis.WebSocket (Node 20 has none: pass `ws`) */
  WebSocket?: WebSocketConstructor;
  /** fetch for history. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
  /** The outbox conversation this session carries; entries of other conversations are rejected. @default 'default' */
  conversationId?: string;
  /** When the agent ended the chat, start a new one instead of failing entries with `conversation-ended`. @default false */
  startNew?: boolean;
  /** `Origin` header (Node `ws` only; browsers set it themselves). */
  origin?: string;
  /** Health echo when the socket was idle this long; at least 30000. @default 30000 */
  pingIntervalMs?: number;
  /** Reconnect backoff (full jitter). @default { baseDelayMs: 1000, maxDelayMs: 30000 } */
  reconnect?: { baseDelayMs?: number; maxDelayMs?: number };
  /** Most `onMessage` per rolling second (Genesys allows 2 per session). @default 2 */
  messagesPerSecond?: number;
  /** Custom attributes sent with an entry. @default entry.metadata */
  customAttributes?: (entry: OutboxEntry) => Record<string, string> | undefined;
  /** History pages (25 messages each) read after a reconnect or to reconcile. @default 4 */
  maxHistoryPages?: number;
  /** How long to wait for the echo of a sent message before it counts as in doubt. @default 30000 */
  echoTimeoutMs?: number;
  /** How long `send` waits for a connection attempt already in progress. @default 5000 */
  connectWaitMs?: number;
  /** Clock difference tolerated when matching history (see docs/guest-transport.md). @default 300000 */
  reconcileSkewMs?: number;
  /** @default the outbox's logger */
  logger?: Logger;
}

/** @internal The checked options, handed to the session (guest/session.ts). */
export interface GuestConfig {
  o: GuestTransportOptions;
  deploymentId: string;
  url: URL;
  historyUrl: string;
  Ctor: WebSocketConstructor;
  pingMs: number;
  perSecond: number;
  maxPages: number;
  echoTimeoutMs: number;
  connectWaitMs: number;
  skewMs: number;
  backoff: { baseDelayMs: number; maxDelayMs: number };
  conversationId: string;
  attributesOf: (entry: OutboxEntry) => Record<string, string> | undefined;
  tokenKey: string;
  startKey: string;
}

type Session = Awaited<ReturnType<typeof guestSession>>;

const invalid = invalidOptions;

function checkUrl(name: string, value: string, protocols: RegExp): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw invalid(`${name} is not a URL`);
  }
  if (!protocols.test(u.protocol)) throw invalid(`${name}: bad protocol ${u.protocol}`);
  return value;
}

/**
 * A transport over the Genesys Web Messaging Guest API (WebSocket): the browser guest path.
 * Keeps one session per deployment, resumes it across reloads, paces sends below the 2/s limit,
 * counts a message delivered only when its echo arrives, and reconciles messages left in doubt
 * against the conversation history before resending them. Also records agent/bot messages in the
 * outbox transcript, including those sent while the guest was offline.
 *
 * @example
 * const outbox = await createOutbox({
 *   transport: guestTransport({ region: 'eu_west_1', deploymentId: '…' }),
 * });
 */ export function guestTransport(options: GuestTransportOptions): Transport {
  const o = readOptions(
    'guestTransport',
    options,
    'region webSocketUrl apiBaseUrl deploymentId sessionToken WebSocket fetch conversationId startNew origin pingIntervalMs reconnect messagesPerSecond customAttributes maxHistoryPages echoTimeoutMs connectWaitMs reconcileSkewMs logger',
  );
  const deploymentId = o.deploymentId;
  if (typeof deploymentId !== 'string' || !/^[A-Za-z0-9-]{1,128}$/.test(deploymentId)) {
    throw new OutboxError('invalid-deployment-id', 'deploymentId: 1-128 of A-Za-z0-9-');
  }
  if (
    o.sessionToken !== undefined &&
    (typeof o.sessionToken !== 'string' || !/^.{1,2048}$/s.test(o.sessionToken))
  ) {
    throw new OutboxError('invalid-session-token', 'sessionToken: 1-2048 characters');
  }
  const region = o.region === undefined ? undefined : resolveRegion(o.region);
  const wsBase = o.webSocketUrl ?? region?.webSocketUrl;
  const apiBase = o.apiBaseUrl ?? region?.apiUrl;
  if (wsBase === undefined || apiBase === undefined) {
    throw invalid('region (or webSocketUrl and apiBaseUrl) required');
  }
  const url = new URL(checkUrl('webSocketUrl', wsBase, /^wss?:$/));
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1';
  url.searchParams.set('deploymentId', deploymentId);
  const historyUrl = `${checkUrl('apiBaseUrl', apiBase, /^https?:$/).replace(/\/+$/, '')}/api/v2/webmessaging/messages`;
  const WS = o.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof WS !== 'function') {
    throw invalid('no WebSocket: pass { WebSocket } (Node: the ws package)');
  }
  const Ctor: WebSocketConstructor = WS;
  const pingMs = numberOption('pingIntervalMs', o.pingIntervalMs, 30_000, 30_000);
  const perSecond = Math.floor(numberOption('messagesPerSecond', o.messagesPerSecond, 2, 1));
  const maxPages = Math.floor(numberOption('maxHistoryPages', o.maxHistoryPages, 4, 1));
  const echoTimeoutMs = numberOption('echoTimeoutMs', o.echoTimeoutMs, 30_000, 1);
  const connectWaitMs = numberOption('connectWaitMs', o.connectWaitMs, 5_000, 0);
  const skewMs = numberOption('reconcileSkewMs', o.reconcileSkewMs, 300_000, 0);
  const backoff = {
    baseDelayMs: numberOption('reconnect.baseDelayMs', o.reconnect?.baseDelayMs, 1_000, 0),
    maxDelayMs: numberOption('reconnect.maxDelayMs', o.reconnect?.maxDelayMs, 30_000, 0),
  };
  if (backoff.maxDelayMs < backoff.baseDelayMs) throw invalid('reconnect.maxDelayMs < baseDelayMs');
  const conversationId = o.conversationId ?? 'default';
  if (typeof conversationId !== 'string' || conversationId === '')
    throw invalid('conversationId: non-empty string required');
  const attributesOf = o.customAttributes ?? ((e: OutboxEntry) => e.metadata);
  const tokenKey = `guest.sessionToken:${deploymentId}`;
  const startKey = `guest.conversationStart:${deploymentId}`;
  const cfg: GuestConfig = {
    o,
    deploymentId,
    url,
    historyUrl,
    Ctor,
    pingMs,
    perSecond,
    maxPages,
    echoTimeoutMs,
    connectWaitMs,
    skewMs,
    backoff,
    conversationId,
    attributesOf,
    tokenKey,
    startKey,
  };
  let cx: TransportContext | undefined;
  let closed = false;
  /** The session, once its chunk arrived (see guest/session.ts). */
  let live: Session | undefined;
  /** Fetches the session's chunk (again, if the last fetch failed) and starts it. */
  let open: (() => Promise<Session | undefined>) | undefined;

  const close = async (): Promise<void> => {
    closed = true;
    await live?.close();
  };

  return {
    name: 'guest',
    concurrency: 1,
    endpoint: url.href,
    start(context) {
      if (cx) throw new OutboxError('invalid-state', 'already started');
      cx = context;
      if (context.signal.aborted) return;
      context.signal.addEventListener('abort', () => void close(), { once: true });
      const log = o.logger ?? context.logger;
      let loading: Promise<Session | undefined> | undefined;
      // Not awaited: the outbox is ready (and send() durable) before the chunk arrives. Until the
      // session is there, send() waits for it; if the chunk cannot be fetched, send() says
      // offline and the next send() or resume() fetches it again.
      open = () =>
        (loading ??= import('./guest/session.js')
          .then((m) => (closed ? undefined : m.guestSession(cfg, context, uuid)))
          .then(
            async (s) => {
              if (closed) await s?.close();
              else live = s;
              return live;
            },
            (e: unknown) => {
              loading = undefined;
              log.warn('guest: not started', { error: String(e) });
              return undefined;
            },
          ));
      void open();
    },
    async send(entry, sc) {
      const s = live ?? (closed ? undefined : await open?.());
      return s
        ? s.send(entry, sc)
        : { kind: 'offline', error: { code: 'network', message: 'not connected' } };
    },
    resume() {
      if (live) live.resume();
      else if (!closed) void open?.();
    },
    async wipe() {
      const s = live ?? (closed ? undefined : await open?.());
      await s?.wipe();
      await close();
    },
    close,
  };
}
