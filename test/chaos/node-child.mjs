// One outbox process of a Node chaos schedule (spawned, and SIGKILLed, by node-chaos.mjs).
// Argument: the JSON config (base64). Speaks one JSON object per stdout line:
//   {t:'ready'}                       the outbox is open
//   {t:'issued', i}                   send() of plan[i] is about to be called (never issued again)
//   {t:'committed', i, id}            send() of plan[i] resolved: the message is durable
//   {t:'rejected', i, code}           send() of plan[i] rejected (the message is not stored)
//   {t:'req-start'|'req-end', key, n, at, status?}   a message request as the client saw it (HTTP)
//   {t:'attempt-failed', id, code}   an attempt of entry `id` failed as the outbox saw it
//   {t:'unhandled', kind, message}    an unhandled rejection / uncaught exception in this process
//   {t:'report', entries}             on SIGTERM: what list() still holds, then close() and exit 0
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createOutbox, guestTransport, httpTransport } from '../../dist/src/index.js';
import { clientCredentials, openMessagingTransport, sqliteStore } from '../../dist/src/node.js';

const config = JSON.parse(Buffer.from(process.argv[2], 'base64').toString('utf8'));
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
// CHAOS_LOG_DIR=dir: each process writes the library's log lines to dir/<simulator port>-<pid>.log
// (debugging a schedule).
const logTo = process.env.CHAOS_LOG_DIR;
const line = (level) => (message, fields) =>
  appendFileSync(
    join(logTo, `${new URL(config.url).port}-${process.pid}.log`),
    `${JSON.stringify({ at: Date.now(), level, message, ...fields })}\n`,
  );
const quietLogger = logTo
  ? { debug: line('debug'), warn: line('warn'), error: line('error') }
  : { debug() {}, warn() {}, error() {} };

/**
 * With CHAOS_LOG_DIR, the guest transport's socket also writes every frame it sends and receives
 * (action / class, tracingId, text) to the log: which process sent which copy of a message.
 */
class TracedWebSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    const id = Math.random().toString(36).slice(2, 8);
    line('ws')('open', { sock: id });
    this.on('message', (data) => {
      let f;
      try {
        f = JSON.parse(String(data));
      } catch {
        f = {};
      }
      line('ws')('in', {
        sock: id,
        type: f.type,
        cls: f.class,
        code: f.code,
        tracingId: f.tracingId,
        text: f.body?.text,
        direction: f.body?.direction,
        newSession: f.body?.newSession,
        name: f.body?.name,
      });
    });
    this.on('close', () => line('ws')('closed', { sock: id }));
    this.traceId = id;
  }
  send(data, ...rest) {
    let f;
    try {
      f = JSON.parse(String(data));
    } catch {
      f = {};
    }
    line('ws')('out', {
      sock: this.traceId,
      action: f.action,
      tracingId: f.tracingId,
      text: f.message?.text,
    });
    return super.send(data, ...rest);
  }
}

process.on('unhandledRejection', (reason) => {
  out({ t: 'unhandled', kind: 'unhandledRejection', message: String(reason?.stack ?? reason) });
});
process.on('uncaughtException', (error) => {
  out({ t: 'unhandled', kind: 'uncaughtException', message: String(error?.stack ?? error) });
  // What Node would do without this handler: the process dies (the schedule restarts it).
  process.exit(70);
});

/**
 * The transport's fetch, reporting every message request as the client sees it: start, and end
 * with the HTTP status or 'error' (timeout, reset, refused). Token requests are not reported.
 */
let requestNo = 0;
const tracingFetch = async (url, init) => {
  let key;
  try {
    const body = JSON.parse(String(init?.body ?? ''));
    key = body.externalId ?? body.channel?.messageId;
  } catch {
    key = undefined;
  }
  const n = ++requestNo;
  out({ t: 'req-start', key, n, at: Date.now() });
  try {
    const res = await fetch(url, init);
    out({ t: 'req-end', key, n, at: Date.now(), status: res.status });
    return res;
  } catch (error) {
    out({ t: 'req-end', key, n, at: Date.now(), status: 'error' });
    throw error;
  }
};

const tokens = () =>
  clientCredentials({ loginUrl: config.url, clientId: 'sim-client', clientSecret: 'sim-secret' });

async function makeStore() {
  if (config.store.kind === 'sqlite') return sqliteStore({ path: config.store.path });
  if (config.store.kind === 'postgres') {
    const node = await import('../../dist/src/node.js');
    const { default: pg } = await import('pg');
    // A small pool of its own: several schedules of four workers share one cluster.
    const pool = new pg.Pool({ connectionString: config.store.url, max: config.store.poolMax });
    pool.on('error', () => {}); // an idle client's connection dropped: the next query reports it
    return node.postgresStore({
      pool,
      schema: config.store.schema,
      ...(config.store.leaseMs === undefined ? {} : { leaseMs: config.store.leaseMs }),
    });
  }
  throw new Error(`unknown store ${config.store.kind}`);
}

function makeTransport() {
  switch (config.transport) {
    case 'http':
      return httpTransport({
        url: `${config.url}/api/v2/conversations/messaging/messages`,
        getAccessToken: tokens(),
        timeoutMs: config.timeoutMs,
        fetch: tracingFetch,
      });
    case 'open':
      return openMessagingTransport({
        apiUrl: config.url,
        integrationId: 'chaos-integration',
        tokenProvider: tokens(),
        timeoutMs: config.timeoutMs,
        fetch: tracingFetch,
      });
    case 'guest':
      return guestTransport({
        webSocketUrl: config.wsUrl,
        apiBaseUrl: config.url,
        deploymentId: 'sim-deployment',
        conversationId: 'c0',
        WebSocket: logTo ? TracedWebSocket : WebSocket,
        reconnect: { baseDelayMs: 50, maxDelayMs: 500 },
        echoTimeoutMs: config.timeoutMs,
        connectWaitMs: 1000,
      });
    default:
      throw new Error(`unknown transport ${config.transport}`);
  }
}

const store = await makeStore();
/**
 * A flush schedule watches whether this process is the sender (the SQLite store's lease
 * coordinator, the one createOutbox would take from the store anyway), to judge a standby's
 * flush() below.
 */
let coordinator;
if (config.flush && typeof store.coordinator === 'function') {
  const make = store.coordinator;
  store.coordinator = (o) => (coordinator = make(o));
}
const outbox = await createOutbox({
  name: config.name,
  store,
  transport: makeTransport(),
  logger: quietLogger,
  retry: config.retry,
});
// An attempt the outbox saw fail (timeout, network, 5xx...): a repeat after it is needed.
outbox.subscribe((e) => {
  if (e.type === 'status' && e.entry.status === 'pending' && e.entry.lastError !== undefined) {
    out({ t: 'attempt-failed', id: e.entry.id, code: e.entry.lastError.code, at: Date.now() });
  }
});
out({ t: 'ready' });

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void (async () => {
    try {
      const entries = await listEntries();
      out({ t: 'report', entries });
      await outbox.close();
    } catch (error) {
      out({ t: 'unhandled', kind: 'report', message: String(error?.stack ?? error) });
    }
    process.exit(0);
  })();
});

const listEntries = async () =>
  (await outbox.list()).map((e) => ({
    id: e.id,
    text: e.text,
    status: e.status,
    attempts: e.attempts,
    lastError: e.lastError,
  }));

// 'list' on stdin: what the store still holds (the harness asks while waiting for the drain).
let input = '';
process.stdin.setEncoding('utf8');
if (config.script) process.stdin.unref();
process.stdin.on('data', (chunk) => {
  input += chunk;
  let nl;
  while ((nl = input.indexOf('\n')) >= 0) {
    const line = input.slice(0, nl);
    input = input.slice(nl + 1);
    if (line === 'list')
      listEntries().then(
        (entries) => out({ t: 'list', entries }),
        (error) => out({ t: 'list', error: String(error?.code ?? error) }),
      );
  }
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * What a standby's flush() resolved without: for each conversation, its first entry that was
 * queued before the call and is not failed now, when that entry is still pending exactly as it
 * was (not attempted since) although it was due before the call. A standby's flush() promises
 * that the sender tried each such head (standbyFlush.ts); `before` is read just before the call
 * and `after` just after it resolved, so a sender that went further meanwhile only makes this
 * more lenient, never stricter. A head `sending` now is not judged (it may be a later attempt).
 */
function untried(before, at, after) {
  const asked = new Map(
    before.filter((e) => e.status === 'pending' || e.status === 'sending').map((e) => [e.id, e]),
  );
  const judged = new Set();
  const texts = [];
  for (const e of after) {
    const b = asked.get(e.id);
    if (b === undefined || judged.has(e.conversationId) || e.status === 'failed') continue;
    judged.add(e.conversationId);
    const same =
      e.status === 'pending' &&
      b.status === 'pending' &&
      e.attempts === b.attempts &&
      e.nextAttemptAt === b.nextAttemptAt &&
      e.lastError?.code === b.lastError?.code;
    if (same && (b.nextAttemptAt ?? 0) <= at) texts.push(e.text);
  }
  return texts;
}

const pending = [];
/** Sends plan[i]: `issued` first, so a restart never issues it again. */
function sendOne(i) {
  const m = config.plan[i];
  out({ t: 'issued', i });
  const sent = outbox
    .send({ text: m.text, conversationId: m.conversationId, metadata: { guestId: m.guestId } })
    .then(
      (entry) => {
        out({ t: 'committed', i, id: entry.id });
        return entry.id;
      },
      (error) => out({ t: 'rejected', i, code: error?.code ?? String(error) }),
    );
  pending.push(sent);
  return sent;
}

// The plan from `start`: groups of sends, each either a burst (all issued at once, not awaited
// one by one) or awaited one after the other; a seeded pause between groups.
for (const group of config.groups) {
  if (stopping) break;
  const indexes = group.indexes.filter((i) => i >= config.start);
  if (indexes.length === 0) continue;
  if (group.pauseMs > 0) await sleep(group.pauseMs);
  if (group.burst) await Promise.all(indexes.map(sendOne));
  else for (const i of indexes) await sendOne(i);
}
if (config.script) {
  // A script: it awaits its messages' outcome and relies on that alone to stay alive (DESIGN.md
  // rule 12). Node exits with 13 ("unsettled top-level await") if nothing keeps it up meanwhile.
  process.stdin.unref();
  const ids = await Promise.all(pending);
  await Promise.all(ids.filter((id) => id !== undefined).map((id) => outbox.whenSettled(id)));
  out({ t: 'settled' });
  process.stdin.ref();
}
if (config.flush && !stopping) {
  // flush() after the last send: a standby's resolves once the sender tried what was queued
  out({ t: 'flush-start' });
  try {
    const standby = coordinator !== undefined && !coordinator.isLeader();
    const before = standby ? await outbox.list() : [];
    const at = Date.now();
    await outbox.flush();
    // judged only if this process is still a standby (a sender's flush() is its own drain) and was
    // not closed meanwhile (close() ends a standby's wait too)
    const after = standby && !stopping && !coordinator.isLeader() ? await outbox.list() : undefined;
    out({ t: 'flushed', ...(after === undefined ? {} : { untried: untried(before, at, after) }) });
  } catch (error) {
    // closed by the harness's SIGTERM: not a failure of flush()
    if (!stopping) out({ t: 'flush-failed', code: error?.code ?? String(error) });
  }
}
out({ t: 'idle' });
// stdin keeps the process up: it drains until the harness stops (SIGTERM) or kills it.
