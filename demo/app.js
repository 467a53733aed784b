// The demo chat page: the library used exactly as an application would, against the local simulator.
// Everything on screen comes from the outbox: transcript.list() at start, then subscribe() events.
import {
  browserConnectivity,
  createOutbox,
  guestTransport,
  indexedDbStore,
  isOutboxError,
} from '/dist/browser/genesys-webmessaging-outbox.js';

const $ = (id) => document.getElementById(id);
const els = {
  banner: $('banner'),
  bannerText: $('banner-text'),
  flush: $('flush'),
  messages: $('messages'),
  empty: $('empty'),
  form: $('composer'),
  text: $('text'),
  send: $('send'),
  sendError: $('send-error'),
  latency: $('latency'),
  faultState: $('fault-state'),
  announcer: $('announcer'),
};

/** Transcript lines by key, and the outbox's view of the guest's own messages by entry id. */
const lines = new Map();
const entries = new Map();
const nodes = new Map();
let outbox;
let config;
let online = navigator.onLine;
let ticker;

// ---------------------------------------------------------------------------------------------
// Transport

function makeTransport(c) {
  return guestTransport({
    webSocketUrl: c.webSocketUrl,
    apiBaseUrl: c.apiBaseUrl,
    deploymentId: c.deploymentId,
    // After "Agent disconnects", the next message opens a new chat instead of failing.
    startNew: true,
    // Quick reconnects so the demo recovers within a second or two after an outage.
    reconnect: { baseDelayMs: 500, maxDelayMs: 5000 },
  });
}

// ---------------------------------------------------------------------------------------------
// Events from the outbox (this tab's and the other tabs')

function onEvent(event) {
  switch (event.type) {
    case 'status': {
      const { entry } = event;
      const before = entries.get(entry.id);
      entries.set(entry.id, entry);
      if (!lines.has(entry.id)) {
        lines.set(entry.id, {
          key: entry.id,
          conversationId: entry.conversationId,
          direction: 'Inbound',
          text: entry.text,
          time: entry.createdAt,
          status: entry.status,
        });
      }
      if (before?.status !== entry.status) {
        if (entry.status === 'sent') announce('Message sent.');
        if (entry.status === 'failed') announce(`Message failed: ${reasonOf(entry)}`);
      }
      // A one-shot fault may just have been used up.
      refreshFaultsSoon();
      break;
    }
    case 'transcript': {
      const old = lines.get(event.record.key);
      lines.set(event.record.key, { ...old, ...event.record });
      if (old === undefined && event.record.direction === 'Outbound') {
        const line = event.record;
        announce(
          line.event ? eventText(line) : `${WHO[line.originatingEntity] ?? 'Agent'}: ${line.text}`,
        );
      }
      break;
    }
    case 'discarded':
      lines.delete(event.id);
      entries.delete(event.id);
      break;
    case 'connectivity':
      online = event.online;
      setBanner();
      break;
  }
  render();
}

window.addEventListener('online', () => setBanner());
window.addEventListener('offline', () => {
  online = false;
  setBanner();
});

// ---------------------------------------------------------------------------------------------
// Connection banner

function setBanner(forced, text) {
  let state = forced;
  let label = text;
  if (state === undefined) {
    if (!navigator.onLine) {
      state = 'offline';
      label = 'Offline: messages wait on this device';
    } else if (!online) {
      state = 'reconnecting';
      label = 'Reconnecting to Genesys…';
    } else {
      state = 'online';
      label = 'Online';
    }
  }
  if (els.banner.dataset.state === state && els.bannerText.textContent === label) return;
  els.banner.dataset.state = state;
  els.bannerText.textContent = label;
}

els.flush.addEventListener('click', async () => {
  if (outbox === undefined) return;
  els.flush.disabled = true;
  try {
    await outbox.flush();
  } catch (error) {
    announce(`Retry failed: ${describeError(error)}`);
  } finally {
    els.flush.disabled = false;
  }
});

// ---------------------------------------------------------------------------------------------
// Sending

els.form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (outbox === undefined) return;
  const text = els.text.value;
  els.sendError.hidden = true;
  try {
    // Resolves once the message is durably stored: only then is the box cleared.
    await outbox.send({ text });
    if (els.text.value === text) els.text.value = '';
  } catch (error) {
    els.sendError.textContent = describeError(error);
    els.sendError.hidden = false;
  }
  els.text.focus();
});

els.messages.addEventListener('click', async (ev) => {
  const button = ev.target.closest('button[data-op]');
  if (button === null) return;
  const id = button.closest('li').dataset.key;
  try {
    if (button.dataset.op === 'retry') await outbox.retry(id);
    else await outbox.discard(id);
    els.text.focus();
  } catch (error) {
    announce(describeError(error));
  }
});

// ---------------------------------------------------------------------------------------------
// Rendering: one <li> per transcript line, created once and updated in place

const WHO = { Bot: 'Bot', Human: 'Agent', System: 'System' };

function render() {
  const sorted = [...lines.values()].sort((a, b) => a.time - b.time);
  let previous = null;
  let added = false;
  for (const line of sorted) {
    let li = nodes.get(line.key);
    if (li === undefined) {
      li = createLine(line);
      nodes.set(line.key, li);
      added = true;
    }
    updateLine(li, line);
    const expected =
      previous === null ? els.messages.firstElementChild : previous.nextElementSibling;
    if (expected !== li) {
      if (previous === null) els.messages.prepend(li);
      else previous.after(li);
    }
    previous = li;
  }
  for (const [key, li] of nodes) {
    if (!lines.has(key)) {
      li.remove();
      nodes.delete(key);
    }
  }
  els.empty.hidden = lines.size > 0;
  if (added) els.messages.scrollTop = els.messages.scrollHeight;
  tick();
}

function createLine(line) {
  const li = document.createElement('li');
  li.dataset.key = line.key;
  const mine = line.direction === 'Inbound';
  li.className = `msg ${line.event ? 'event' : mine ? 'mine' : 'theirs'}`;
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = mine ? 'You' : (WHO[line.originatingEntity] ?? 'Agent');
  const text = document.createElement('p');
  text.className = 'text';
  const meta = document.createElement('p');
  meta.className = 'meta';
  li.append(who, text, meta);
  if (mine) {
    const reason = document.createElement('p');
    reason.className = 'reason';
    const actions = document.createElement('div');
    actions.className = 'actions';
    const short = line.text.length > 40 ? `${line.text.slice(0, 40)}…` : line.text;
    for (const [op, label, cls] of [
      ['retry', 'Retry', ''],
      ['discard', 'Discard', 'secondary'],
    ]) {
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.op = op;
      button.className = cls;
      button.textContent = label;
      button.setAttribute('aria-label', `${label} “${short}”`);
      actions.append(button);
    }
    li.append(reason, actions);
  }
  return li;
}

function updateLine(li, line) {
  const text = li.querySelector('.text');
  const label = line.event ? eventText(line) : line.text;
  if (text.textContent !== label) text.textContent = label;
  const meta = li.querySelector('.meta');
  const time = new Date(line.time).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (line.direction !== 'Inbound') {
    setText(meta, time);
    return;
  }
  const entry = entries.get(line.key);
  const status = entry?.status ?? line.status ?? 'sent';
  li.dataset.status = status;
  const attempts = entry?.attempts ?? 0;
  const next = status === 'pending' ? entry?.nextAttemptAt : undefined;
  li.dataset.next = next === undefined ? '' : String(next);
  meta.innerHTML = '';
  const badge = document.createElement('span');
  badge.className = 'status';
  badge.textContent = statusText(status, entry);
  meta.append(badge);
  if (attempts > 0 && status !== 'sent') meta.append(` · attempt ${attempts}`);
  const countdown = document.createElement('span');
  countdown.className = 'countdown';
  // Ticks four times a second: visible only, or a screen reader would read every tick.
  countdown.setAttribute('aria-hidden', 'true');
  meta.append(countdown, ` · ${time}`);
  const failed = status === 'failed';
  li.querySelector('.reason').textContent = failed ? reasonOf(entry) : '';
  const actions = li.querySelector('.actions');
  const appeared = failed && actions.hidden;
  actions.hidden = !failed;
  // The line just grew by its reason and buttons: keep Retry / Discard in sight.
  if (appeared) actions.scrollIntoView({ block: 'nearest' });
}

function statusText(status, entry) {
  switch (status) {
    case 'pending':
      if (!navigator.onLine || !online) return 'Queued';
      return entry?.nextAttemptAt !== undefined ? 'Waiting to retry' : 'Queued';
    case 'sending':
      return 'Sending…';
    case 'sent':
      return 'Sent ✓';
    case 'failed':
      return 'Failed';
    default:
      return status;
  }
}

function eventText(line) {
  if (line.event === 'Presence:Disconnect') return 'The agent ended the conversation.';
  if (line.event === 'Conversation:New') return 'A new conversation started.';
  return line.text || line.event;
}

function reasonOf(entry) {
  const e = entry?.lastError;
  if (e === undefined) return 'not delivered';
  return `${e.message} · ${e.code}`;
}

function setText(el, value) {
  if (el.textContent !== value) el.textContent = value;
}

// Live countdowns to nextAttemptAt: a ticker that runs only while something is waiting.
function tick() {
  const now = Date.now();
  let waiting = false;
  for (const li of els.messages.querySelectorAll('li[data-next]')) {
    const countdown = li.querySelector('.countdown');
    const next = Number(li.dataset.next);
    if (li.dataset.next !== '' && next > now) {
      waiting = true;
      setText(countdown, ` · next try in ${Math.ceil((next - now) / 1000)} s`);
    } else {
      setText(countdown, '');
    }
  }
  if (waiting && ticker === undefined) ticker = window.setInterval(tick, 250);
  if (!waiting && ticker !== undefined) {
    window.clearInterval(ticker);
    ticker = undefined;
  }
}

/**
 * Screen-reader announcements: one polite status region, one paragraph per announcement (so two
 * in a row are both read), trimmed to the last few.
 */
function announce(message) {
  const p = document.createElement('p');
  p.textContent = message;
  els.announcer.append(p);
  while (els.announcer.childElementCount > 5) els.announcer.firstElementChild.remove();
}

function describeError(error) {
  if (isOutboxError(error)) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// Fault panel: the simulator's control API (proxied by the demo server on this origin)

// Each action: [control name, body, what to announce]; a `session` argument is filled in with this
// page's guest session (see currentSession).
const ACTIONS = {
  outageOn: () => [
    ['outage', { mode: 'refuse' }],
    'Outage started: the simulator refuses connections.',
  ],
  outageOff: () => [['outage', { mode: false }], 'Outage ended.'],
  latency: () => {
    const ms = Math.max(0, Math.min(60000, Number(els.latency.value) || 0));
    return [['delayFrames', { ms }], ['latency', { ms }], `Latency set to ${ms} ms.`];
  },
  latencyOff: () => [['delayFrames', { ms: 0 }], ['latency', { ms: 0 }], 'Latency off.'],
  rateLimit: () => [
    [
      'failNextOnMessage',
      {
        code: 429,
        body: {
          retryAfter: 5,
          errorCode: 4029,
          errorMessage: 'Message rate too high for this session',
        },
      },
    ],
    'The next message is rate limited (429, retry after 5 s).',
  ],
  serverError: () => [
    ['failNextOnMessage', { code: 5000 }],
    'The next message gets an unexpected error (5000).',
  ],
  dropAfterAccept: () => [
    ['dropSocket', { session: SESSION, when: 'after-accept' }],
    'The next message is stored, then the connection drops before the echo.',
  ],
  reject: () => [
    ['failNextOnMessage', { code: 4011 }],
    'The next message is rejected (4011, too long).',
  ],
  expireSession: () => [['expireSession', { session: SESSION }], 'The guest session expired.'],
  // The chat announces the disconnect itself when its line arrives: not twice.
  agentDisconnect: () => [['agentDisconnect', { session: SESSION }], 'Disconnect requested.'],
  reset: () => [['reset', {}], 'All faults cleared.'],
};
const SESSION = Symbol("this page's session");

document.querySelector('.faults').addEventListener('click', async (ev) => {
  const button = ev.target.closest('button[data-action]');
  if (button === null) return;
  const make = ACTIONS[button.dataset.action];
  if (make === undefined) return;
  const steps = make();
  const done = steps.pop();
  button.disabled = true;
  try {
    for (const [name, body] of steps) {
      if (body.session === SESSION) body.session = await currentSession();
      await control(name, body);
    }
    announce(done);
    els.faultState.dataset.last = button.dataset.action;
  } catch (error) {
    announce(`Control failed: ${describeError(error)}`);
    setText(els.faultState, `Failed: ${describeError(error)}`);
    return;
  } finally {
    button.disabled = false;
  }
  await refreshFaults();
});

/**
 * This page's guest session, for the controls that act on one session. The library keeps the
 * session token to itself (in its store), so the demo asks the simulator: the session of this
 * deployment with an open connection (the sending tab's), else the most recently active one.
 */
async function currentSession() {
  const res = await fetch(`${config.controlPath}/sessions`, { cache: 'no-store' });
  const sessions = (await res.json()).filter((s) => s.deploymentId === config.deploymentId);
  const last = (s) => Math.max(0, ...s.messages.map((m) => Date.parse(m.time)));
  sessions.sort((a, b) => (b.connections > 0) - (a.connections > 0) || last(b) - last(a));
  if (sessions.length === 0) throw new Error('no guest session yet: send a message first');
  return sessions[0].token;
}

async function control(name, body) {
  const res = await fetch(`${config.controlPath}/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    let message = `HTTP ${res.status}`;
    try {
      message = (await res.json()).message ?? message;
    } catch {
      // not JSON: keep the status
    }
    throw new Error(message);
  }
}

let refreshTimer;
function refreshFaultsSoon() {
  window.clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(refreshFaults, 300);
}

async function refreshFaults() {
  try {
    const res = await fetch(`${config.controlPath}/state`, { cache: 'no-store' });
    const { faults: f } = await res.json();
    const parts = [`Outage: ${f.outage === false ? 'off' : 'on'}`];
    if (f.latencyMs > 0) parts.push(`latency ${f.latencyMs} ms`);
    // The box shows the latency in force (after a reload too), unless the user is editing it.
    if (f.latencyMs > 0 && document.activeElement !== els.latency) {
      els.latency.value = String(f.latencyMs);
    }
    if (f.failNextOnMessage) parts.push(`next message: ${f.failNextOnMessage.code}`);
    setText(els.faultState, parts.join(' · '));
    els.faultState.dataset.outage = f.outage === false ? 'off' : 'on';
  } catch {
    setText(els.faultState, 'Simulator state unavailable.');
  }
}

// ---------------------------------------------------------------------------------------------
// Start (last, so every declaration above is initialised)

async function start() {
  try {
    config = await (await fetch('/config.json', { cache: 'no-store' })).json();
    outbox = await createOutbox({
      name: 'outbox-demo',
      store: indexedDbStore({ name: 'outbox-demo' }),
      transport: makeTransport(config),
      // Short waits so the demo shows several attempts in a minute (the defaults are 2 s and 60 s).
      retry: { baseDelayMs: 2000, maxDelayMs: 20000 },
      // A service that is down while the browser is online shows as "reconnecting": the probe
      // decides when it is back (any HTTP answer).
      connectivity: browserConnectivity({
        probeUrl: `${config.apiBaseUrl}/`,
        probeIntervalMs: 2000,
      }),
    });
    outbox.subscribe(onEvent);
    for (const record of await outbox.transcript.list()) lines.set(record.key, record);
    for (const entry of await outbox.list()) entries.set(entry.id, entry);
    els.text.disabled = false;
    els.send.disabled = false;
    setBanner();
    render();
    els.text.focus();
    window.demo = { outbox, ready: true };
    refreshFaults();
  } catch (error) {
    setBanner('error', `Could not start: ${describeError(error)}`);
    console.error(error);
  }
}

await start();
