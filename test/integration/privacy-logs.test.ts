// Design rule 10/14: whatever happens (deliveries, in-doubt reconciliation, rejections, rate
// limits, expired sessions, revoked tokens, outages), no log line at any level and no
// OutboxError (message, details, cause chain) carries message text, metadata values, an access
// token, a JWT, the client secret or the guest session token; and no store holds an access token
// or JWT (the session token is the only credential at rest).
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { clientCredentials } from '../../src/auth/clientCredentials.js';
import { isOutboxError } from '../../src/errors/OutboxError.js';
import type { Logger } from '../../src/internal/logger.js';
import { createOutbox, type Outbox, type OutboxOptions } from '../../src/outbox/createOutbox.js';
import type { OutboxEntry } from '../../src/outbox/entry.js';
import { TUTORIAL_MESSAGES_PATH } from '../../src/outbox/OfflineMessageQueue.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import { guestTransport } from '../../src/transport/guest.js';
import { httpTransport } from '../../src/transport/http.js';
import { openMessagingTransport } from '../../src/transport/openMessaging.js';
import type { Transport } from '../../src/transport/Transport.js';
import { waitFor } from './guest-helpers.js';

const CLIENT_SECRET = 'sim-secret';
let sim: Simulator;
let dir: string;
/** Every string that must never show up: texts, metadata values, tokens, secrets. */
let secrets: Set<string>;
/** Every log line (all levels) and every error seen, flattened to text. */
let seen: string[];
let n = 0;

const secretText = (): string => {
  const t = `secret-text-${++n}-${Math.random().toString(36).slice(2)}`;
  secrets.add(t);
  return t;
};

const capturing: Logger = {
  debug: (m, c) => seen.push(`debug ${m} ${JSON.stringify(c ?? {})}`),
  warn: (m, c) => seen.push(`warn ${m} ${JSON.stringify(c ?? {})}`),
  error: (m, c) => seen.push(`error ${m} ${JSON.stringify(c ?? {})}`),
};

/** An error as text: message, details and the whole cause chain. */
function describeError(e: unknown, depth = 0): string {
  if (depth > 10 || e === undefined || e === null) return '';
  if (typeof e !== 'object') return String(e);
  const x = e as { message?: unknown; details?: unknown; cause?: unknown };
  return [
    String(x.message ?? ''),
    isOutboxError(e) ? JSON.stringify(e.details ?? {}) : '',
    String(e),
    describeError(x.cause, depth + 1),
  ].join(' | ');
}

/** A fetch that remembers every access token and JWT it carries or receives. */
const recordingFetch: typeof fetch = async (input, init) => {
  const auth = new Headers(init?.headers).get('authorization');
  if (auth?.startsWith('Bearer ')) secrets.add(auth.slice(7));
  const res = await fetch(input, init);
  const body = await res.clone().text();
  const token = /"access_token"\s*:\s*"([^"]+)"/.exec(body)?.[1];
  if (token) secrets.add(token);
  return res;
};

/** `ws` that remembers every JWT the server hands out. */
class RecordingWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    this.on('message', (data: WebSocket.RawData) => {
      const jwt = /"jwt"\s*:\s*"([^"]+)"/.exec(String(data))?.[1];
      if (jwt) secrets.add(jwt);
    });
  }
}

async function open(transport: Transport, extra: Partial<OutboxOptions> = {}): Promise<Outbox> {
  const outbox = await createOutbox({
    transport,
    store: sqliteStore({ path: join(dir, 'outbox.db') }),
    coordinator: false,
    logger: capturing,
    retry: { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 6 },
    ...extra,
  });
  outbox.subscribe((e) => {
    if (e.type === 'status' && e.entry.lastError) seen.push(JSON.stringify(e.entry.lastError));
  });
  return outbox;
}

async function send(outbox: Outbox, extra: { conversationId?: string } = {}): Promise<OutboxEntry> {
  const entry = await outbox.send({
    text: secretText(),
    metadata: { fromId: 'visitor-1', note: secretText() },
    ...extra,
  });
  return entry;
}

/** Bad input: the errors name the problem, never the text. */
async function badInput(outbox: Outbox): Promise<void> {
  for (const input of [
    { text: `${'x'.repeat(5000)}${secretText()}` },
    { text: secretText(), metadata: { k: 5 as unknown as string } },
    { text: secretText(), conversationId: '' },
  ]) {
    await outbox.send(input).then(
      () => seen.push('accepted?'),
      (e: unknown) => seen.push(describeError(e)),
    );
  }
}

function expectNothingLeaked(): void {
  expect(seen.length).toBeGreaterThan(0);
  const all = seen.join('\n');
  for (const s of secrets) expect(all, `leaked ${s.slice(0, 12)}…`).not.toContain(s);
}

/** The raw database files hold no access token or JWT, and nothing of what was typed. */
async function expectNoCredentialsAtRest(allowed: string[] = []): Promise<string> {
  const files = await readdir(dir);
  const raw = (await Promise.all(files.map((f) => readFile(join(dir, f))))).join('');
  for (const s of secrets) {
    if (s.startsWith('secret-text-') || allowed.includes(s)) continue; // see the callers
    expect(raw, `credential at rest ${s.slice(0, 12)}…`).not.toContain(s);
  }
  return raw;
}

beforeEach(async () => {
  sim = await startSimulator({ port: 0 });
  dir = await mkdtemp(join(tmpdir(), 'outbox-privacy-'));
  secrets = new Set([CLIENT_SECRET]);
  seen = [];
});

afterEach(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

describe('no text, token or secret in logs, errors or stores', () => {
  it('guest transport: delivery, agent lines, in-doubt, rejections, 429, expiry, outage', async () => {
    const transport = guestTransport({
      webSocketUrl: sim.wsUrl,
      apiBaseUrl: sim.url,
      deploymentId: 'sim-deployment',
      WebSocket: RecordingWebSocket,
      fetch: recordingFetch,
      reconnect: { baseDelayMs: 20, maxDelayMs: 100 },
      echoTimeoutMs: 2000,
    });
    const outbox = await open(transport);
    await outbox.whenSettled((await send(outbox)).id);
    const session = sim.control.sessions()[0];
    if (!session) throw new Error('no session');
    secrets.add(session.token);
    sim.control.agentMessage(session.token, secretText());
    sim.control.dropSocket(session.token, 'after-accept'); // in doubt: reconciled from history
    await outbox.whenSettled((await send(outbox)).id);
    sim.control.failNextOnMessage(4011);
    await outbox.whenSettled((await send(outbox)).id);
    sim.control.failNextOnMessage(429, {
      retryAfter: 1,
      errorCode: 4029,
      errorMessage: 'Message rate too high for this session',
    });
    await outbox.whenSettled((await send(outbox)).id);
    sim.control.failNextOnMessage(5000);
    await outbox.whenSettled((await send(outbox)).id);
    sim.control.expireSession(session.token);
    await outbox.whenSettled((await send(outbox)).id);
    await sim.control.outage('refuse');
    const during = await send(outbox);
    await sim.control.outage(false);
    await outbox.whenSettled(during.id);
    await send(outbox, { conversationId: 'not-this-session' }); // rejected by the transport
    await badInput(outbox);
    await waitFor(async () => (await outbox.list()).every((e) => e.status === 'failed'), 'settled');
    await outbox.close();
    expectNothingLeaked();
    // The session token is at rest (meta), in clear without encryption; no JWT is.
    const raw = await expectNoCredentialsAtRest([session.token]);
    expect(raw).toContain(session.token);
  });

  it('guest transport with encryption: not even the session token is readable at rest', async () => {
    const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
      'encrypt',
      'decrypt',
    ]);
    const transport = guestTransport({
      webSocketUrl: sim.wsUrl,
      apiBaseUrl: sim.url,
      deploymentId: 'sim-deployment',
      WebSocket: RecordingWebSocket,
      fetch: recordingFetch,
      reconnect: { baseDelayMs: 20, maxDelayMs: 100 },
    });
    const outbox = await open(transport, { encryption: { key } });
    await outbox.whenSettled((await send(outbox)).id);
    const session = sim.control.sessions()[0];
    if (!session) throw new Error('no session');
    sim.control.agentMessage(session.token, secretText());
    await sim.control.outage('refuse');
    const queued = await send(outbox); // stays at rest while the network is away
    // Its first attempt meets the outage (a lastError for the scan) before the outbox closes.
    await waitFor(
      async () => (await outbox.list()).find((e) => e.id === queued.id)?.lastError,
      'the queued message to meet the outage',
    );
    await outbox.close();
    await sim.control.outage(false);
    secrets.add(session.token);
    const files = await readdir(dir);
    const raw = (await Promise.all(files.map((f) => readFile(join(dir, f))))).join('');
    expect(raw).toContain(queued.id);
    for (const s of secrets) expect(raw, `readable at rest: ${s.slice(0, 14)}…`).not.toContain(s);
    expectNothingLeaked();
  });

  it('a transport and a listener that throw errors quoting the text: not in logs, lastError or at rest', async () => {
    const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
      'encrypt',
      'decrypt',
    ]);
    let calls = 0;
    // A custom transport with a bug: its error quotes what it was sending; then it recovers.
    const transport: Transport = {
      name: 'throwing',
      send: async (entry) => {
        if (++calls === 1) throw new TypeError(`cannot post ${JSON.stringify(entry.text)}`);
        return { kind: 'delivered' };
      },
    };
    const outbox = await open(transport, {
      encryption: { key },
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 },
      random: () => 1, // the retry waits a minute: the failed attempt stays at rest until flush()
    });
    outbox.subscribe((e) => {
      // An app's listener with a bug of its own, quoting the entry it was handed.
      if (e.type === 'status') throw new Error(`cannot render ${e.entry.text}`);
    });
    const errors: string[] = [];
    outbox.subscribe((e) => {
      if (e.type === 'status' && e.entry.lastError) errors.push(JSON.stringify(e.entry.lastError));
    });
    const entry = await send(outbox);
    // The failed attempt is at rest (lastError stays clear with encryption) before the retry.
    await waitFor(() => errors.length > 0, 'the failed attempt');
    const rawDuring = (await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f)))))
      .join('')
      .toString();
    expect(rawDuring).toContain(entry.id);
    await outbox.flush();
    await outbox.whenSettled(entry.id);
    await outbox.close();
    expect(calls).toBe(2);
    expect(errors[0]).toContain('transport threw: TypeError');
    expect(seen.some((l) => l.includes('listener threw'))).toBe(true);
    expectNothingLeaked();
    for (const s of secrets)
      expect(rawDuring, `readable at rest: ${s.slice(0, 14)}…`).not.toContain(s);
  });

  for (const kind of ['open messaging', 'http (tutorial endpoint)'] as const) {
    it(`${kind} with client credentials: 5xx, 429, 401, revoked tokens, token failures, outage`, async () => {
      const tokens = clientCredentials({
        loginUrl: sim.url,
        clientId: 'sim-client',
        clientSecret: CLIENT_SECRET,
        fetch: recordingFetch,
      });
      const transport =
        kind === 'open messaging'
          ? openMessagingTransport({
              apiUrl: sim.url,
              integrationId: 'integration-1',
              tokenProvider: tokens,
              fetch: recordingFetch,
              timeoutMs: 2000,
            })
          : httpTransport({
              url: sim.url + TUTORIAL_MESSAGES_PATH,
              getAccessToken: tokens,
              fetch: recordingFetch,
              timeoutMs: 2000,
            });
      const outbox = await open(transport);
      const c = { conversationId: 'customer-1' };
      await outbox.whenSettled((await send(outbox, c)).id);
      sim.control.fail5xx(1);
      await outbox.whenSettled((await send(outbox, c)).id);
      sim.control.fail429(1, 1);
      await outbox.whenSettled((await send(outbox, c)).id);
      sim.control.fail401Once();
      await outbox.whenSettled((await send(outbox, c)).id);
      sim.control.revokeTokens();
      await outbox.whenSettled((await send(outbox, c)).id);
      sim.control.failToken(1);
      sim.control.revokeTokens();
      await outbox.whenSettled((await send(outbox, c)).id);
      sim.control.fail5xx(2, 502);
      await outbox.whenSettled((await send(outbox, c)).id);
      await sim.control.outage('refuse');
      const during = await send(outbox, c);
      await sim.control.outage(false);
      await outbox.whenSettled(during.id);
      await badInput(outbox);
      await outbox.close();
      expectNothingLeaked();
      await expectNoCredentialsAtRest();
      expect(secrets.size).toBeGreaterThan(12); // tokens were really captured
    });
  }
});
