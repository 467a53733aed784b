// The guest transport's session: the WebSocket protocol client behind `guestTransport` (its
// options are checked in ../guest.ts, in the first load). A chunk that the transport starts to
// fetch as soon as the outbox starts it (see ../guest.ts): not in the first load.
import type { ErrorInfo, OutboxErrorCode } from '../../errors/OutboxError.js';
import type { OutboxEntry } from '../../outbox/entry.js';
import type { TranscriptRecord } from '../../store/OutboxStore.js';
import type { Logger } from '../../internal/logger.js';
import type { TimerHandle } from '../../internal/clock.js';
import { backoffDelay } from '../../retry/backoff.js';
import { classifyGuestError } from '../../retry/classify.js';
import type { SendContext, SendOutcome, Transport, TransportContext } from '../Transport.js';
import type { GuestConfig } from '../guest.js';
import { parseFrame, parseMessage, type GuestFrame, type GuestMessage } from './frames.js';
import { matchInDoubt } from './reconcile.js';
import { paceDelay } from './pacer.js';

interface Socket {
  send(data: string): void;
  close(): void;
  onopen: (() => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: (() => void) | null;
  onerror: (() => void) | null;
}

/** The one request on the wire (see "one request at a time" in docs/guest-transport.md). */
interface Pending {
  tracingId: string;
  /** For onMessage: the text, to recognise an echo that lost its tracingId. */
  text?: string;
  done: (f: GuestFrame | 'closed' | 'timeout') => void;
}

const REQUEST_TIMEOUT_MS = 10_000;
/** How long `wipe()` waits for the server to confirm the clear (or the close) of the session. */
const WIPE_TIMEOUT_MS = 5_000;
/** Added to the rate-limit window so network jitter cannot squeeze 3 sends into Genesys' second. */
const PACE_MARGIN_MS = 100;
const PAGE_SIZE = 25;

const fail = (code: OutboxErrorCode, message: string): ErrorInfo => ({ code, message });
/** A send outcome other than delivered/rate-limited, with its error. */
const outcome = (
  kind: 'retry' | 'offline' | 'rejected',
  code: OutboxErrorCode,
  message: string,
): SendOutcome => ({ kind, error: { code, message } });
const notConnected = (): SendOutcome => outcome('offline', 'network', 'not connected');
/** The transport's methods once started: reads (or makes) the session token, then connects. */
export async function guestSession(
  c: GuestConfig,
  context: TransportContext,
  /** The first load's `uuid` (lent, so that this chunk and the first load share no module for it). */
  uuid: () => string,
): Promise<Required<Pick<Transport, 'send' | 'resume' | 'wipe' | 'close'>>> {
  const {
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
  } = c;
  const cx: TransportContext | undefined = context;
  const log: Logger | undefined = o.logger ?? context.logger;
  let token = o.sessionToken;
  if (token === undefined) {
    const s = context.store;
    const usable = (t: unknown): t is string =>
      typeof t === 'string' && t !== '' && t.length <= 2048;
    let kept = await s.getMeta(tokenKey);
    if (kept === undefined) {
      // Tabs (or processes) starting at once on a first visit each make one: the first stored is
      // the one every transport uses (each keeping its own split the visitor's conversation).
      // A store without setMetaIfAbsent: a plain write (the race stays open there).
      const made = uuid();
      kept = s.setMetaIfAbsent
        ? await s.setMetaIfAbsent(tokenKey, made)
        : (await s.setMeta(tokenKey, made), made);
    }
    if (usable(kept)) token = kept;
    else {
      token = uuid();
      await s.setMeta(tokenKey, token);
    }
  }
  // The conversation boundary (see configure); another token's conversation ended by now.
  const b = (await context.store.getMeta(startKey)) as
    { token?: unknown; at?: unknown; asked?: unknown } | undefined;
  /** The stored boundary belongs to this token (so a newSession:true means a new conversation). */
  let startKnown = typeof b?.at === 'number' && b.token === token;
  /** Epoch ms (local clock) when the session's current conversation began; kept in the store. */
  let conversationStart = typeof b?.at === 'number' ? (startKnown ? b.at : context.clock.now()) : 0;
  /**
   * When a configureSession of an earlier run went unanswered (it closed or died within the round
   * trip): Genesys may have started a new conversation then, unknown to us (a later answer says
   * newSession:false). Kept in the store with the boundary until a newSession:true moves it.
   */
  let asked = startKnown && typeof b?.asked === 'number' ? b.asked : undefined;
  let ws: Socket | undefined;
  let phase: 'down' | 'connecting' | 'ready' | 'closed' = 'down';
  /** Genesys closed the connection (ConnectionClosedEvent, LogoutEvent): never reconnect. */
  let stopped: ErrorInfo | undefined;
  /** A SessionClearedEvent came: the ConnectionClosedEvent that follows means "cleared". */
  let cleared = false;
  /** The next configureSession starts a new conversation (closeSession was sent). */
  let wantNew = false;
  let jwtWait: ((v: string | undefined) => void) | undefined;
  let jwtId = '';
  let readOnly = false;
  let maxCustomDataBytes = 2048;
  /** Why the last configureSession was refused (e.g. a wrong deployment), if it was. */
  let sessionError: ErrorInfo | undefined;
  let retryIndex = 0;
  let reconnectTimer: TimerHandle | undefined;
  let pingTimer: TimerHandle | undefined;
  let lastActivity = 0;
  let current: Pending | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let sendChain: Promise<unknown> = Promise.resolve();
  let jwt: { jwt: string; exp: number } | undefined;
  let jwtPending: Promise<string | undefined> | undefined;
  let syncing: Promise<void> | undefined;
  let resync = false;
  const waiters = new Set<(ok: boolean) => void>();
  /** Entries whose onMessage went out without an answer → when: reconciled before a resend. */
  const doubt = new Map<string, number>();
  /** Echoes that arrived after their send stopped waiting: entry id → server message. */
  const late = new Map<string, GuestMessage>();
  const sentAt: number[] = [];
  /** Agent/bot message ids recorded (or being recorded) by this instance. */
  const seen = new Set<string>();
  let blockedUntil = 0;

  // A function, not an inline test: TypeScript would keep a narrowing of `phase` across awaits.
  const closed = (): boolean => phase === 'closed';
  const now = (): number => (cx ? cx.clock.now() : Date.now());
  const timeOf = (m: GuestMessage): number => (Number.isFinite(m.time) ? m.time : now());

  /** Writes lines; false when the write failed (logged). */
  function record(records: TranscriptRecord[]): Promise<boolean> {
    if (!cx || records.length === 0) return Promise.resolve(true);
    return cx.recordTranscript(records).then(
      () => true,
      (e: unknown) => {
        log?.warn('guest: transcript write failed', { error: String(e) });
        return false;
      },
    );
  }

  function outboundRecord(m: GuestMessage): TranscriptRecord {
    const r: TranscriptRecord = {
      key: m.id,
      conversationId,
      direction: 'Outbound',
      text: m.text,
      time: timeOf(m),
      serverId: m.id,
    };
    if (m.originatingEntity !== undefined) r.originatingEntity = m.originatingEntity;
    return r;
  }

  /**
   * Records agent/bot messages not recorded yet. The same message can come as a live frame, as a
   * frame held by the server until we reconnect, and from history: one line (keys), one event.
   * `unstored`: the caller already found them missing from the store (no second read). A failed
   * write forgets them again, so the next history sync retries.
   */
  async function recordOutbound(messages: GuestMessage[], unstored = false): Promise<void> {
    const store = cx?.store;
    const todo = messages.filter((m) => !seen.has(m.id));
    for (const m of todo) seen.add(m.id);
    const fresh: GuestMessage[] = [];
    for (const m of todo) {
      try {
        if (!unstored && store && (await store.getTranscript(m.id)) !== undefined) continue;
      } catch {
        // unreadable store: record anyway (idempotent by key)
      }
      fresh.push(m);
    }
    if (!(await record(fresh.map(outboundRecord)))) for (const m of fresh) seen.delete(m.id);
  }

  function guestRecord(key: string, m: GuestMessage): TranscriptRecord {
    return {
      key,
      conversationId,
      direction: 'Inbound',
      text: m.text,
      time: timeOf(m),
      status: 'sent',
      serverId: m.id,
    };
  }

  function wait(ms: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (!cx || signal?.aborted || phase === 'closed') return resolve(false);
      const onAbort = (): void => {
        cx?.clock.clearTimeout(t);
        resolve(false);
      };
      const t = cx.clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  function setReady(ok: boolean): void {
    for (const w of [...waiters]) w(ok);
    waiters.clear();
  }

  /** Sends one request and waits for its answer; requests go out one at a time. */
  function request(
    frame: Record<string, unknown>,
    accept: (f: GuestFrame) => boolean,
    opts: { timeoutMs?: number; signal?: AbortSignal; paced?: boolean; text?: string } = {},
  ): Promise<GuestFrame | 'closed' | 'timeout' | 'unsent'> {
    // 'unsent': it never reached the wire; 'closed': the socket or the outbox went away after it did.
    const run = async (): Promise<GuestFrame | 'closed' | 'timeout' | 'unsent'> => {
      if (opts.paced) {
        let d = 0;
        while ((d = paceDelay(sentAt, now(), perSecond, 1000 + PACE_MARGIN_MS, blockedUntil)) > 0) {
          if (!(await wait(d, opts.signal))) return 'unsent';
        }
      }
      const sock = ws;
      if (!sock || !cx || opts.signal?.aborted) return 'unsent';
      const tracingId = typeof frame.tracingId === 'string' ? frame.tracingId : uuid();
      return new Promise((resolve) => {
        const timer = cx?.clock.setTimeout(
          () => finish('timeout'),
          opts.timeoutMs ?? REQUEST_TIMEOUT_MS,
        );
        const onAbort = (): void => finish('closed');
        const finish = (r: GuestFrame | 'closed' | 'timeout' | 'unsent'): void => {
          if (current !== pending) return;
          current = undefined;
          cx?.clock.clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          resolve(r);
        };
        const pending: Pending = {
          tracingId,
          done: (f) => {
            if (f === 'closed' || f === 'timeout' || f.kind === 'error' || accept(f)) finish(f);
          },
        };
        if (opts.text !== undefined) pending.text = opts.text;
        current = pending;
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        try {
          sock.send(JSON.stringify({ ...frame, token, tracingId }));
          lastActivity = now();
          if (opts.paced) {
            sentAt.push(lastActivity);
            if (sentAt.length > perSecond) sentAt.splice(0, sentAt.length - perSecond);
          }
        } catch (e: unknown) {
          log?.warn('guest: send failed', { error: String(e) });
          finish('unsent');
        }
      });
    };
    const p = queue.then(run, run);
    queue = p;
    return p;
  }

  function connect(): void {
    if (!cx || stopped || phase === 'closed' || phase === 'connecting' || phase === 'ready') return;
    phase = 'connecting';
    let sock: Socket;
    try {
      sock = (
        o.origin === undefined ? new Ctor(url.href) : new Ctor(url.href, { origin: o.origin })
      ) as Socket;
    } catch (e: unknown) {
      log?.warn('guest: WebSocket failed', { error: String(e) });
      down();
      return;
    }
    ws = sock;
    sock.onopen = () => void configure(false);
    sock.onmessage = (ev) => {
      if (ws === sock) onFrame(ev.data);
    };
    sock.onclose = sock.onerror = () => {
      if (ws === sock) down();
    };
  }

  /** The socket is gone (or must go): settle what waits on it, reconnect with backoff. */
  function down(): void {
    const sock = ws;
    ws = undefined;
    jwt = undefined;
    jwtWait?.(undefined);
    if (sock) {
      sock.onopen = sock.onmessage = sock.onclose = null;
      // Not null: `ws` emits 'error' after close() on a socket still connecting, and an 'error'
      // without a listener crashes Node (issue 10 #8).
      sock.onerror = () => {};
      try {
        sock.close();
      } catch {
        // already closed
      }
    }
    current?.done('closed');
    if (phase === 'closed') return;
    const wasReady = phase === 'ready';
    phase = 'down';
    setReady(false);
    if (cx && !stopped) {
      if (wasReady || retryIndex === 0) cx.reportConnectivity(false);
      cx.clock.clearTimeout(reconnectTimer);
      const delay = backoffDelay(retryIndex++, backoff, cx.random);
      reconnectTimer = cx.clock.setTimeout(connect, delay);
    }
  }

  async function configure(startNew: boolean): Promise<boolean> {
    const sock = ws;
    if (!sock) return false;
    // The socket this configure is for went away (or the transport closed) while it awaited:
    // down() has taken over (reconnect timer, or closed), so nothing here may touch the state. A
    // late continuation that set 'ready' without a socket stopped every reconnect (connect()
    // returns when ready) and every send (no JWT, no socket) for good: chaos seed node/guest 1185.
    const stale = (): boolean => ws !== sock || closed();
    phase = 'connecting';
    // Another process on the store may have started a new conversation since we read the
    // boundary: never write the older one back over it (chaos seed node/guest 1097).
    await adoptStored();
    if (stale()) return false;
    // Stored before asking: if no answer is read, the next run knows the boundary may have moved.
    if (startKnown) await saveStart(asked ?? now());
    if (stale()) return false;
    const f = await request(
      { action: 'configureSession', deploymentId, startNew: startNew || wantNew },
      (x) => x.kind === 'session',
    );
    if (typeof f === 'object' && f.kind === 'session') {
      // A new conversation of a token that had one: attempts in doubt from before it cannot be
      // read back (see sendOne). Stored before anything is sent in it, so a crash cannot lose it.
      // Answered: only an earlier run's unanswered ask stays a suspect (a newSession clears it).
      const fresh = f.newSession && startKnown;
      if (fresh) asked = undefined;
      // Not new to us: it may be new all the same, started by another process on this store
      // while we asked (its configure came first). Its boundary is in the store.
      else await adoptStored();
      await setStart(fresh ? now() : conversationStart);
      // The visitor sees where the new conversation begins; the old one's lines stay above.
      if (fresh)
        await record([
          {
            key: `new-conversation:${conversationStart}`,
            conversationId,
            direction: 'Outbound',
            text: '',
            time: conversationStart,
            event: 'Conversation:New',
          },
        ]);
      readOnly = f.readOnly;
      wantNew &&= readOnly;
      cleared = false;
      maxCustomDataBytes = f.maxCustomDataBytes ?? 2048;
      sessionError = undefined;
      // The answer's facts (boundary, session flags) stand; 'ready' is only for the socket it came on.
      if (stale()) return false;
      phase = 'ready';
      retryIndex = 0;
      if (cx) {
        cx.reportConnectivity(true);
        setReady(true);
        cx.wake();
        void syncHistory();
        schedulePing();
      }
      return true;
    }
    // No answer, and the socket is gone already: down() handled it (a down() now would close
    // the next socket).
    if (stale()) return false;
    if (typeof f === 'object' && f.kind === 'error') {
      const refused = classifyGuestError(f.code, f.body);
      sessionError =
        'error' in refused ? refused.error : fail('protocol-error', `session refused (${f.code})`);
      log?.warn('guest: session refused', { code: f.code });
      // A deployment the server does not know will not appear by reconnecting: stop (every entry
      // fails with unknown-deployment, naming the setting); a new transport starts over.
      if (sessionError.code === 'unknown-deployment') stopped = sessionError;
    }
    if (!closed()) down();
    return false;
  }

  function schedulePing(): void {
    if (!cx) return;
    cx.clock.clearTimeout(pingTimer);
    pingTimer = cx.clock.setTimeout(() => void ping(), lastActivity + pingMs - now());
  }

  async function ping(): Promise<void> {
    // At most one echo per interval, and only when nothing else talked to the server meanwhile.
    if (phase === 'ready' && current === undefined && now() - lastActivity >= pingMs) {
      const f = await request(
        { action: 'echo', message: { type: 'Text', text: 'ping' } },
        (x) => x.kind === 'structured',
      );
      if (f === 'timeout') {
        log?.warn('guest: no ping answer');
        down();
        return;
      }
    }
    if (phase === 'ready') schedulePing();
  }

  function onFrame(data: unknown): void {
    lastActivity = now();
    const f = parseFrame(data);
    if (f.kind === 'malformed') {
      log?.warn('guest: malformed frame', { reason: f.reason });
      return;
    }
    const c = current;
    if (c) {
      const mine =
        f.tracingId === c.tracingId ||
        // A response that lost its tracingId can only answer the one request on the wire.
        (f.tracingId === undefined && f.type === 'response') ||
        // A pushed event answers only a request that waits for it (wipe's clear and close).
        f.kind === 'event' ||
        // An echo without tracingId: ours when the text is the one in flight.
        (f.tracingId === undefined &&
          f.kind === 'structured' &&
          f.message.direction === 'Inbound' &&
          c.text !== undefined &&
          f.message.text === c.text);
      if (mine) {
        c.done(f);
        if (current !== c) return;
      }
    }
    if (f.kind === 'jwt' || (jwtWait && f.tracingId === jwtId)) {
      if (f.kind === 'jwt') jwt = { jwt: f.jwt, exp: f.exp };
      jwtWait?.(f.kind === 'jwt' ? f.jwt : undefined);
      return;
    }
    if (f.kind === 'event') {
      const name = f.name;
      if (name === 'SessionClearedEvent') {
        cleared = true; // Genesys closes the connection next (as Genesys' SDK expects)
      } else if (name === 'SessionExpiredEvent') {
        // Genesys' SDK keeps the token; configuring it again starts a new conversation. The old
        // one is over now: stored before anything can start the new one (see sendOne).
        void setStart(now()).then(() => phase === 'ready' && configure(false));
      } else {
        // Closed by Genesys (another connection, sign-in elsewhere, cleared, logout): stop, never
        // take the session back. signedIn / logout: the token is discarded, as Genesys' SDK does.
        const reason =
          name === 'LogoutEvent'
            ? 'logout'
            : f.reason === 'signedIn'
              ? 'signed-in'
              : cleared
                ? 'conversation-cleared'
                : 'session-limit';
        stopped = fail('session-closed', reason);
        if (reason === 'logout' || reason === 'signed-in') void newToken();
        down();
        cx?.emit?.({ type: 'session-closed', reason });
      }
      return;
    }
    if (f.kind !== 'structured') return;
    const m = f.message;
    if (m.direction === 'Outbound') {
      if (m.disconnect) {
        readOnly ||= m.readOnly;
        void record([
          {
            key: m.id || `presence-disconnect:${timeOf(m)}`,
            conversationId,
            direction: 'Outbound',
            text: '',
            time: timeOf(m),
            event: 'Presence:Disconnect',
          },
        ]);
      } else if (m.type !== 'Event' && m.id !== '') {
        void recordOutbound([m]);
      }
    } else if (
      f.type === 'message' &&
      m.direction === 'Inbound' &&
      f.tracingId !== undefined &&
      m.id !== ''
    ) {
      // The echo of one of ours (in flight, or one we stopped waiting for): it did arrive, and
      // the outbox records its line when the send settles as delivered. Anything else was sent
      // from another tab or device: record it here.
      if (doubt.has(f.tracingId)) late.set(f.tracingId, m);
      else void record([guestRecord(f.tracingId, m)]);
    }
  }

  /**
   * A JWT for the history API; re-asked when it expires within 5 s. Not queued behind other
   * requests (a JwtResponse is recognised by its class), so an unanswered getJwt never holds a send.
   */
  function getJwt(): Promise<string | undefined> {
    if (jwt && jwt.exp * 1000 > now() + 5_000) return Promise.resolve(jwt.jwt);
    const sock = ws;
    if (!sock || !cx) return Promise.resolve(undefined);
    jwtPending ??= new Promise<string | undefined>((resolve) => {
      const t = cx?.clock.setTimeout(() => jwtWait?.(undefined), REQUEST_TIMEOUT_MS);
      jwtWait = (v) => {
        jwtWait = jwtPending = undefined;
        cx?.clock.clearTimeout(t);
        resolve(v);
      };
      jwtId = uuid();
      try {
        sock.send(JSON.stringify({ action: 'getJwt', token, tracingId: jwtId }));
      } catch {
        queueMicrotask(() => jwtWait?.(undefined));
      }
    });
    return jwtPending;
  }

  /**
   * Takes the stored boundary when it is newer than ours: several processes share one store (a
   * SQLite file) and one session token, and a session answers `newSession: true` only to the
   * configure that started the new conversation. A process whose socket joined later (or that was
   * starting while the session expired) learns of that conversation only from the store.
   */
  async function adoptStored(): Promise<void> {
    const kept = (await cx?.store.getMeta(startKey).catch(() => undefined)) as
      { token?: unknown; at?: unknown } | undefined;
    if (
      kept !== undefined &&
      kept.token === token &&
      typeof kept.at === 'number' &&
      kept.at > conversationStart
    ) {
      conversationStart = kept.at;
      startKnown = true;
    }
  }

  /** Stores when the current conversation began (the in-doubt boundary), and `asked` (see there). */
  async function setStart(at: number): Promise<void> {
    conversationStart = at;
    startKnown = true;
    await saveStart(asked);
  }
  async function saveStart(ask: number | undefined): Promise<void> {
    const at = conversationStart;
    await cx?.store
      .setMeta(startKey, ask === undefined ? { token, at } : { token, at, asked: ask })
      .catch((e: unknown) => log?.warn('guest: store failed', { error: String(e) }));
  }

  /** Forgets the token (Genesys' SDK on sign-in elsewhere and logout): the next start is a new guest. */
  async function newToken(): Promise<void> {
    token = uuid();
    conversationStart = now();
    startKnown = false;
    await cx?.store.setMeta(tokenKey, token).catch(() => undefined);
  }

  /**
   * Reads history pages, newest first, until `enough(page)` says so or `maxPages` were read.
   * Undefined when the history could not be read.
   */
  async function history(
    enough: (page: GuestMessage[]) => boolean | Promise<boolean>,
    signal?: AbortSignal,
  ): Promise<GuestMessage[] | undefined> {
    const fetchFn = o.fetch ?? globalThis.fetch;
    const out: GuestMessage[] = [];
    for (let n = 1; n <= maxPages; n++) {
      const token = await getJwt();
      if (token === undefined || !cx) return undefined;
      const ac = new AbortController();
      const onAbort = (): void => ac.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = cx.clock.setTimeout(onAbort, REQUEST_TIMEOUT_MS);
      try {
        const res = await fetchFn(`${historyUrl}?pageSize=${PAGE_SIZE}&pageNumber=${n}`, {
          headers: { Authorization: `Bearer ${token}` },
          signal: ac.signal,
        });
        if (!res.ok) {
          if (res.status === 401) jwt = undefined;
          log?.warn('guest: history failed', { status: res.status });
          return undefined;
        }
        const body = (await res.json()) as { entities?: unknown; pageCount?: unknown };
        const page = (Array.isArray(body.entities) ? body.entities : [])
          .map(parseMessage)
          .filter((m): m is GuestMessage => m !== undefined);
        out.push(...page);
        const pageCount = typeof body.pageCount === 'number' ? body.pageCount : n;
        const stop = await enough(page); // always called: it may collect from the page
        if (stop || page.length < PAGE_SIZE || n >= pageCount) break;
      } catch (e: unknown) {
        log?.warn('guest: history failed', { error: String(e) });
        return undefined;
      } finally {
        cx?.clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
    }
    return out;
  }

  /** After every (re)configure: record agent/bot messages we missed while away (idempotent by key). */
  function syncHistory(): Promise<void> {
    if (syncing) {
      resync = true;
      return syncing;
    }
    syncing = (async () => {
      do {
        resync = false;
        const store = cx?.store;
        if (!store) return;
        const fresh: GuestMessage[] = [];
        const pages = await history(async (page) => {
          let known = false;
          for (const m of page) {
            if (m.direction !== 'Outbound' || m.id === '' || m.type === 'Event') continue;
            if ((await store.getTranscript(m.id)) === undefined) fresh.push(m);
            else known = true;
          }
          return known; // older pages were seen on an earlier visit
        });
        if (pages === undefined) return;
        if (fresh.length > 0) {
          await recordOutbound(
            fresh.sort((a, b) => timeOf(a) - timeOf(b)),
            true,
          );
        }
      } while (resync && phase === 'ready');
    })()
      .catch((e: unknown) => log?.warn('guest: history failed', { error: String(e) }))
      .finally(() => {
        syncing = undefined;
      });
    return syncing;
  }

  /**
   * Found in history (the message), not found (null), or could not tell (undefined). `older` is
   * set when the history holds one of our earlier deliveries: the current conversation began
   * before this entry's attempt, whatever an unanswered configureSession may have done.
   */
  async function reconcile(
    entry: OutboxEntry,
    signal: AbortSignal,
    older: { seen: boolean },
  ): Promise<GuestMessage | null | undefined> {
    const store = cx?.store;
    if (!store) return undefined;
    const from = entry.createdAt - skewMs;
    const pages = await history(
      (page) => page.some((m) => Number.isFinite(m.time) && m.time < from),
      signal,
    );
    if (pages === undefined) return undefined;
    const claimed = new Set<string>();
    for (const r of await store.listTranscript(conversationId)) {
      if (r.direction === 'Inbound' && r.serverId !== undefined && r.key !== entry.id)
        claimed.add(r.serverId);
    }
    older.seen = pages.some((m) => claimed.has(m.id));
    return matchInDoubt([entry], pages, { claimed, skewMs, now: now() }).get(entry.id) ?? null;
  }

  async function whenReady(signal: AbortSignal): Promise<boolean> {
    if (phase === 'ready') return true;
    if (phase !== 'connecting' || signal.aborted) return false;
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        waiters.delete(done);
        cx?.clock.clearTimeout(t);
        signal.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onAbort = (): void => done(false);
      const t = cx?.clock.setTimeout(() => done(false), connectWaitMs);
      waiters.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The outbox writes the guest's transcript line (server id and time) from this outcome. */
  function delivered(entry: OutboxEntry, m: GuestMessage): SendOutcome {
    doubt.delete(entry.id);
    late.delete(entry.id);
    return { kind: 'delivered', serverId: m.id, serverTime: timeOf(m) };
  }

  async function sendOne(entry: OutboxEntry, sc: SendContext): Promise<SendOutcome> {
    if (phase === 'closed') return notConnected();
    if (entry.conversationId !== conversationId) {
      return outcome('rejected', 'invalid-conversation-id', `not conversation "${conversationId}"`);
    }
    const attributes = attributesOf(entry);
    const size =
      attributes === undefined ? 0 : new TextEncoder().encode(JSON.stringify(attributes)).length;
    // In doubt since (durable, from the outbox; or left in doubt by this instance).
    let since =
      sc.inDoubtSince ?? doubt.get(entry.id) ?? (sc.inDoubt ? entry.createdAt : undefined);
    // Once the doubt is settled, every outcome says so (else the outbox keeps its old mark).
    const settled = (r: SendOutcome): SendOutcome =>
      since === undefined && r.inDoubtSince === undefined ? { ...r, inDoubtSince: null } : r;
    for (let reconfigured = false; ; reconfigured = true) {
      if (size > maxCustomDataBytes) {
        return outcome(
          'rejected',
          'custom-data-too-large',
          `customAttributes too large (${size} > ${maxCustomDataBytes} bytes)`,
        );
      }
      const early = late.get(entry.id);
      if (early) {
        return delivered(entry, early);
      }
      if (stopped)
        return {
          kind: stopped.code === 'unknown-deployment' ? 'rejected' : 'offline',
          error: stopped,
        };
      if (!(await whenReady(sc.signal))) {
        if (!sessionError || closed()) return notConnected();
        // A deployment the server does not know will not appear by retrying: fail the entry now.
        const kind = sessionError.code === 'unknown-deployment' ? 'rejected' : 'retry';
        return { kind, error: sessionError };
      }
      if (since !== undefined) {
        // Read before a read-only session starts a new conversation: afterwards it is unreadable.
        const older = { seen: false };
        const found = await reconcile(entry, sc.signal, older);
        if (found === undefined) {
          return outcome('retry', 'in-doubt', 'history unreadable');
        }
        if (found !== null) {
          return delivered(entry, found);
        }
        doubt.delete(entry.id);
        await adoptStored();
        if (since < conversationStart || (asked !== undefined && since < asked && !older.seen)) {
          // The unanswered attempt may have gone into a conversation that has ended since
          // (session expired, logout): that history cannot be read any more, and a resend would
          // put a second copy into the new one. Settled explicitly: failed, visible, retry() resends.
          // Also when a configureSession after the attempt went unanswered and the history shows
          // none of our earlier messages: that configure may have started this conversation.
          return {
            ...outcome('rejected', 'conversation-ended', 'may be in the ended conversation'),
            inDoubtSince: null,
          };
        }
        since = undefined;
      }
      if (readOnly) {
        if (!o.startNew) {
          return settled(outcome('rejected', 'conversation-ended', 'the conversation ended'));
        }
        // As Genesys' SDK: close the session first (other connections get ConnectionClosedEvent),
        // then configure with startNew, on this socket or on the next one.
        // (Genesys answers the asking socket SessionResponse{connected:false, readOnly:true}.)
        if (!wantNew) {
          wantNew = true;
          await request(
            { action: 'closeSession', closeAllConnections: true },
            (x) => x.kind === 'session',
          );
        }
        if (!(await configure(true))) {
          return settled(notConnected());
        }
        if (readOnly)
          return settled(outcome('rejected', 'conversation-ended', 'no new conversation'));
      }
      const message: Record<string, unknown> = { type: 'Text', text: entry.text };
      if (attributes !== undefined)
        message.channel = { metadata: { customAttributes: attributes } };
      // Counted as in doubt from the moment it may be on the wire until an answer comes back.
      doubt.set(entry.id, now());
      const f = await request(
        { action: 'onMessage', tracingId: entry.id, message },
        (x) => x.kind === 'structured' && x.message.direction === 'Inbound',
        { timeoutMs: echoTimeoutMs, signal: sc.signal, paced: true, text: entry.text },
      );
      const echoed = late.get(entry.id);
      if (echoed) {
        return delivered(entry, echoed);
      }
      if (f === 'closed' || f === 'timeout') {
        if (f === 'timeout') {
          log?.warn('guest: no echo', { id: entry.id });
          down();
        }
        // In doubt from when it went on the wire (onMessage is the only paced request).
        return {
          ...outcome('retry', 'in-doubt', 'unconfirmed when the connection ended'),
          inDoubtSince: sentAt.at(-1) ?? now(),
        };
      }
      doubt.delete(entry.id); // unsent, or an answer: the message was not taken
      if (f === 'unsent') return settled(notConnected());
      if (f.kind === 'structured') {
        return delivered(entry, f.message);
      }
      if (f.kind !== 'error')
        return settled(outcome('retry', 'protocol-error', 'unexpected answer'));
      const refused = classifyGuestError(f.code, f.body);
      if (refused.kind === 'rate-limited') blockedUntil = now() + refused.retryAfterMs;
      if (refused.kind === 'reauth' && !reconfigured && (await configure(false))) continue;
      return settled(refused);
    }
  }

  connect();
  return {
    send(entry, sc) {
      const run = (): Promise<SendOutcome> =>
        sendOne(entry, sc).catch((e: unknown): SendOutcome => {
          log?.error('guest: send threw', { id: entry.id, error: String(e) });
          return outcome('retry', 'unknown', 'unexpected failure');
        });
      const p = sendChain.then(run, run);
      sendChain = p;
      return p;
    },
    resume() {
      // Down and waiting for a backoff timer: the network is probably back, so try now.
      if (!cx || phase !== 'down') return;
      cx.clock.clearTimeout(reconnectTimer);
      retryIndex = 0;
      connect();
    },
    wipe,
    close,
  };

  /**
   * Ends the Genesys side of the visitor, as the Messenger SDK's clearConversation does: an
   * `onMessage` Presence `Clear` event, answered by `SessionClearedEvent` (the token no longer
   * resumes the conversation). A deployment that refuses it (403) gets `closeSession` with
   * `closeAllConnections` instead. Only when a session is up (or comes up within `connectWaitMs`):
   * offline there is no one to tell, and the next visit starts a new session anyway because the
   * token is gone with the local data. Then closes, forgetting the token and the JWT.
   */
  async function wipe(): Promise<void> {
    if (phase !== 'closed' && (await whenReady(new AbortController().signal))) {
      for (const [frame, answer] of [
        [
          {
            action: 'onMessage',
            message: {
              type: 'Event',
              events: [{ eventType: 'Presence', presence: { type: 'Clear' } }],
            },
          },
          'event', // SessionClearedEvent; any session event ends the session as well
        ],
        // Answered by SessionResponse{connected:false} (other sockets: ConnectionClosedEvent).
        [{ action: 'closeSession', closeAllConnections: true }, 'session'],
      ] as const) {
        const f = await request(frame, (x) => x.kind === answer, { timeoutMs: WIPE_TIMEOUT_MS });
        if ((typeof f === 'object' && f.kind === answer) || !ws) break;
      }
    }
    await close();
    token = '';
    jwt = undefined;
  }

  async function close(): Promise<void> {
    if (phase === 'closed') return;
    phase = 'closed';
    if (cx) {
      cx.clock.clearTimeout(reconnectTimer);
      cx.clock.clearTimeout(pingTimer);
    }
    setReady(false);
    down(); // closes the socket only: no closeSession, the conversation must survive reloads
    await Promise.resolve();
  }
}
