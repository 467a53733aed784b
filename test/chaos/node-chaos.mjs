// Process chaos, Node: real child processes (node-child.mjs) with an outbox on SQLite (or, the pg
// tier, four workers on one PostgreSQL schema), SIGKILLed at seeded moments while the simulator
// injects seeded faults; restarts; two processes on one store. A seed gives the whole schedule (what is sent, when, which faults, which kills); the
// interleaving with real time is what varies between replays.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyse, disruptionLog } from './analyse.mjs';
import { prng } from './prng.mjs';

const CHILD = fileURLToPath(new URL('./node-child.mjs', import.meta.url));
export const NODE_TRANSPORTS = ['http', 'open', 'guest'];
const TIMEOUT_MS = 2000; // per request / echo: short, so slow links (latency 3000) time out
/** How long the drain may take once the chaos ended and every process is up; and at most. */
const DRAIN_MS = 30_000;
const DRAIN_CAP_MS = 90_000;

/** The schedule of `seed` on `transport`: plain data, printed by --print. */
export function nodeSchedule(seed, transport, { store = 'sqlite', workers } = {}) {
  const r = prng(seed * 7919 + NODE_TRANSPORTS.indexOf(transport) + 1);
  const guest = transport === 'guest';
  // PostgreSQL (the pg tier): `workers` processes on one schema, always (DESIGN rule 11).
  const processes = workers ?? (r.chance(0.3) ? 2 : 1);
  // a script that awaits whenSettled and nothing else (issue 10 defect 4), one process only
  const script = processes === 1 && r.chance(0.3);
  const durationMs = r.int(1000, 2500);
  const slots = [];
  for (let slot = 0; slot < processes; slot++) {
    const conversations = guest ? 1 : r.int(1, 3);
    const count = guest ? r.int(3, 8) : r.int(6, 24);
    const plan = [];
    for (let i = 0; i < count; i++) {
      const c = guest ? 0 : r.int(0, conversations - 1);
      plan.push({
        text: `s${seed}:p${slot}:c${c}:${i}`,
        conversationId: `c${c}`,
        guestId: `g${slot}`,
      });
    }
    const groups = [];
    for (let i = 0; i < count;) {
      const size = r.int(1, 6);
      groups.push({
        indexes: Array.from({ length: Math.min(size, count - i) }, (_, k) => i + k),
        burst: r.chance(0.5),
        pauseMs: r.chance(0.7) ? r.int(50, 700) : 0,
      });
      i += size;
    }
    slots.push({ slot, plan, groups });
  }
  const events = [];
  const kills = r.int(0, 3);
  for (let k = 0; k < kills; k++) {
    events.push({
      at: r.int(0, durationMs),
      action: 'kill',
      slot: r.int(0, processes - 1),
      restartAfterMs: r.int(0, 400),
    });
  }
  const faults = r.int(1, 5);
  const kinds = [
    'outage',
    'latency',
    'fail429',
    'fail5xx',
    'storm429',
    'revokeTokens',
    'failToken',
    ...(guest
      ? ['dropSocket', 'dropSocket', 'expireSession', 'guestFault', 'delayFrames']
      : ['commitThenDrop', 'commitThenDrop', 'fail401Once']),
  ];
  for (let f = 0; f < faults; f++) {
    const kind = r.pick(kinds);
    const at = r.int(0, durationMs);
    const e = { at, action: kind };
    switch (kind) {
      case 'outage':
        e.mode = r.pick(['refuse', 'reset']);
        e.forMs = r.int(100, 1200);
        break;
      case 'latency':
        e.ms = r.pick([50, 200, 600, 1500, 3000]);
        e.forMs = r.int(200, 1500);
        break;
      case 'delayFrames':
        e.ms = r.pick([50, 300, 1500, 3000]);
        e.forMs = r.int(200, 1500);
        break;
      case 'fail429': {
        e.count = r.int(1, 6);
        const form = r.pick(['0', '1', '2', 'past', 'date1', 'date2']);
        e.retryAfter = form; // resolved to a date when injected
        break;
      }
      case 'storm429':
        // every request answered 429 for a while (Retry-After 0, or a date already past)
        e.retryAfter = r.pick(['0', 'past']);
        e.forMs = r.int(300, 1000);
        break;
      case 'fail5xx':
        e.count = r.int(1, 5);
        e.status = r.pick([500, 502, 503, 504]);
        break;
      case 'commitThenDrop':
        e.count = r.int(1, 3);
        break;
      case 'failToken':
        e.count = r.int(1, 3);
        break;
      case 'dropSocket':
        e.when = r.pick(['before-accept', 'after-accept']);
        break;
      case 'guestFault':
        e.code = r.pick([5000, 429, 4029, 503]);
        break;
      default:
        break;
    }
    events.push(e);
  }
  events.sort((a, b) => a.at - b.at);
  // Two processes on one SQLite file: in half of them one process calls flush() after its last
  // send (a standby's flush() waits until the sender tried what was queued). Drawn from a stream
  // of its own, so that every other draw of a seed is as before this existed.
  if (store === 'sqlite' && processes === 2) {
    const f = prng(seed * 104_729 + NODE_TRANSPORTS.indexOf(transport) + 1);
    if (f.chance(0.5)) slots[f.int(0, processes - 1)].flush = true;
  }
  return {
    tier: store === 'postgres' ? 'pg' : 'node',
    transport,
    store,
    seed,
    processes,
    script,
    durationMs,
    slots,
    events,
    retry: { baseDelayMs: 50, maxDelayMs: 500, maxAttempts: 1000, maxAgeMs: 3_600_000 },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function retryAfterValue(form) {
  switch (form) {
    case 'past':
      return new Date(Date.now() - 60_000).toUTCString();
    case 'date1':
      return new Date(Date.now() + 1000).toUTCString();
    case 'date2':
      return new Date(Date.now() + 2000).toUTCString();
    default:
      return Number(form);
  }
}

/** Runs one schedule against its own simulator; resolves with the counts. */
export async function runNodeSchedule(schedule, { startSimulator, storeFactory }) {
  const sim = await startSimulator({ port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'outbox-chaos-'));
  const store = storeFactory
    ? await storeFactory(schedule)
    : { kind: 'sqlite', path: join(dir, 'outbox.db') };
  const { disruptions, disrupt } = disruptionLog(sim);
  const committed = new Set();
  const clientFailures = [];
  /** Message requests as the children saw them, by incarnation / number. */
  const requests = new Map();
  /** When each incarnation (one spawned process) died, if it did before the end. */
  const deaths = new Map();
  let incarnations = 0;
  const ids = new Map();
  let unhandled = 0;
  /** flush() calls that rejected (codes). */
  const flushFailures = [];
  /** Heads a standby's flush() resolved without the sender having tried them (texts). */
  const flushUntried = [];
  const unhandledMessages = [];
  let kills = 0;
  const procs = schedule.slots.map((s) => ({
    ...s,
    child: undefined,
    nextStart: 0,
    idle: false,
    alive: false,
    lastList: undefined,
    listSeq: 0,
    report: undefined,
    exits: [],
  }));
  const timers = new Set();
  const later = (ms, fn) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const spawnSlot = (p) => {
    if (p.alive) return;
    const config = {
      name: `chaos-${schedule.seed}`,
      transport: schedule.transport,
      url: sim.url,
      wsUrl: sim.wsUrl,
      store,
      retry: schedule.retry,
      timeoutMs: TIMEOUT_MS,
      plan: p.plan,
      groups: p.groups,
      start: p.nextStart,
      script: schedule.script,
      flush: p.flush === true,
    };
    const incarnation = ++incarnations;
    p.incarnation = incarnation;
    const child = spawn(
      process.execPath,
      [CHILD, Buffer.from(JSON.stringify(config)).toString('base64')],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    p.child = child;
    (p.pids ??= []).push({ pid: child.pid, at: Date.now() });
    p.flushing = undefined; // a dead process's flush() went with it
    p.needsRestart = false;
    p.alive = true;
    p.idle = false;
    let buf = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let m;
        try {
          m = JSON.parse(line);
        } catch {
          continue;
        }
        if (m.t === 'issued') p.nextStart = Math.max(p.nextStart, m.i + 1);
        else if (m.t === 'committed') {
          committed.add(p.plan[m.i].text);
          ids.set(p.plan[m.i].text, m.id);
        } else if (m.t === 'idle') p.idle = true;
        else if (m.t === 'ready') {
          p.ready = true;
          p.readyIncarnation = incarnation;
          (p.readyAt ??= []).push(Date.now());
        } else if (m.t === 'flush-start') p.flushing = incarnation;
        else if (m.t === 'flushed') {
          if (p.flushing === incarnation) p.flushing = undefined;
          p.flushes = (p.flushes ?? 0) + 1;
          if (m.untried !== undefined) p.standbyFlushes = (p.standbyFlushes ?? 0) + 1;
          if (m.untried?.length > 0) flushUntried.push(...m.untried);
        } else if (m.t === 'flush-failed') flushFailures.push(m.code);
        else if (m.t === 'req-start')
          requests.set(`${incarnation}/${m.n}`, { key: m.key, proc: incarnation, start: m.at });
        else if (m.t === 'req-end') {
          const q = requests.get(`${incarnation}/${m.n}`);
          if (q !== undefined) Object.assign(q, { end: m.at, status: m.status });
        } else if (m.t === 'attempt-failed') clientFailures.push({ key: m.id, at: m.at });
        else if (m.t === 'list') {
          p.lastList = m.entries;
          p.listSeq += 1;
        } else if (m.t === 'report') p.report = m.entries;
        else if (m.t === 'unhandled') {
          unhandled += 1;
          unhandledMessages.push(m.message.split('\n')[0]);
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => (err += d));
    child.stdin.on('error', () => {});
    child.once('exit', (code, signal) => {
      if (!p.stopping) deaths.set(incarnation, Date.now());
      p.alive = false;
      p.exits.push({ code, signal });
      if (signal !== 'SIGKILL' && code !== 0) {
        // A crash nobody asked for (uncaught exception: counted above; anything else here).
        if (code !== 70) {
          unhandled += 1;
          unhandledMessages.push(
            `exit ${code ?? signal}: ${err.trim().split('\n').slice(-3).join(' | ')}`,
          );
        }
        disrupt('crash');
        if (!p.stopping) {
          p.needsRestart = true;
          later(100, () => p.needsRestart && spawnSlot(p));
        }
      }
    });
  };

  const guestSessions = () => sim.control.sessions().map((s) => s.token);
  const inject = (e) => {
    const c = sim.control;
    switch (e.action) {
      case 'kill': {
        const p = procs[e.slot];
        // dead, or already killed and not yet gone: one restart per death, never two processes
        if (!p.alive || p.needsRestart) return;
        kills += 1;
        disrupt('kill');
        p.needsRestart = true;
        p.child.kill('SIGKILL');
        p.child.once('exit', () =>
          later(e.restartAfterMs, () => !p.stopping && p.needsRestart && spawnSlot(p)),
        );
        return;
      }
      case 'outage':
        disrupt('outage');
        void c.outage(e.mode);
        later(e.forMs, () => void c.outage(false));
        return;
      case 'latency':
        if (e.ms >= TIMEOUT_MS / 2)
          disruptions.push({ at: Date.now(), kind: 'slow', until: Date.now() + e.forMs + e.ms });
        c.latency(e.ms);
        later(e.forMs, () => c.latency(0));
        return;
      case 'delayFrames':
        if (e.ms >= TIMEOUT_MS / 2)
          disruptions.push({ at: Date.now(), kind: 'slow', until: Date.now() + e.forMs + e.ms });
        c.delayFrames(e.ms);
        later(e.forMs, () => c.delayFrames(0));
        return;
      case 'fail429':
        c.fail429(e.count, retryAfterValue(e.retryAfter));
        return;
      case 'storm429':
        c.fail429(1_000_000, retryAfterValue(e.retryAfter));
        later(e.forMs, () => c.fail429(0));
        return;
      case 'fail5xx':
        c.fail5xx(e.count, e.status);
        return;
      case 'commitThenDrop':
        c.commitThenDrop(e.count);
        return;
      case 'revokeTokens':
        c.revokeTokens();
        return;
      case 'failToken':
        c.failToken(e.count);
        return;
      case 'fail401Once':
        c.fail401Once();
        return;
      case 'dropSocket':
        for (const s of guestSessions()) c.dropSocket(s, e.when);
        if (e.when === 'after-accept') disrupt('socket-drop');
        return;
      case 'expireSession':
        disrupt('session-expired');
        for (const s of guestSessions()) c.expireSession(s);
        return;
      case 'guestFault':
        c.failNextOnMessage(e.code);
        return;
      default:
        throw new Error(`unknown action ${e.action}`);
    }
  };

  const started = Date.now();
  let stuckTimeout = false;
  try {
    for (const p of procs) spawnSlot(p);
    // Debugging a race: CHAOS_AFTER_READY=1 starts the schedule's clock once every process is
    // ready (a loaded machine starts them seconds late), CHAOS_SHIFT_MS=n moves every event by n ms.
    if (process.env.CHAOS_AFTER_READY === '1') {
      const t0 = Date.now();
      while (procs.some((p) => !p.ready) && Date.now() - t0 < 30_000) await sleep(5);
    }
    const shift = Number(process.env.CHAOS_SHIFT_MS ?? 0);
    for (const e of schedule.events) later(Math.max(0, e.at + shift), () => inject(e));
    await sleep(schedule.durationMs + Math.max(0, shift) + 50);
    // The end of the chaos: every fault off, every process up, then the drain.
    for (const t of timers) clearTimeout(t);
    timers.clear();
    await sim.control.outage(false);
    const c = sim.control;
    c.latency(0);
    c.fail429(0);
    c.fail5xx(0);
    c.commitThenDrop(0);
    c.failToken(0);
    if (schedule.transport === 'guest') c.delayFrames(0);
    // a slow link's in-flight requests still count as disrupted until they end
    for (const d of disruptions)
      if (d.kind === 'slow') d.at = Math.min(d.until ?? d.at, Date.now());
    // The drain: DRAIN_MS from the end of the chaos, or from the moment every process has its
    // outbox open if that is later (on a loaded machine a child starts seconds late, and what has
    // not started cannot deliver), at most DRAIN_CAP_MS in all.
    const drainFrom = Date.now();
    let upAt;
    for (;;) {
      // a process killed (or crashed) whose restart timer was cleared with the others
      for (const p of procs) if (!p.alive && p.needsRestart) spawnSlot(p);
      if (upAt === undefined && procs.every((p) => p.alive && p.readyIncarnation === p.incarnation))
        upAt = Date.now();
      const everyIdle = procs.every((p) => p.alive && p.idle);
      const delivered = new Set(sim.control.delivered().map((d) => d.text));
      const allDelivered = [...committed].every((t) => delivered.has(t));
      if (everyIdle && allDelivered) {
        const seqs = procs.map((p) => p.listSeq);
        for (const p of procs) p.child.stdin.write('list\n');
        const t0 = Date.now();
        while (procs.some((p, i) => p.listSeq === seqs[i]) && Date.now() - t0 < 5000)
          await sleep(20);
        if (procs.every((p) => (p.lastList ?? [1]).length === 0)) break;
      }
      if (Date.now() > Math.min((upAt ?? Infinity) + DRAIN_MS, drainFrom + DRAIN_CAP_MS)) {
        stuckTimeout = true;
        break;
      }
      await sleep(50);
    }
    const ended = Date.now();
    await sleep(200); // a late duplicate would arrive here
    for (const p of procs) {
      p.stopping = true;
      if (!p.alive) continue;
      const exited = new Promise((r) => p.child.once('exit', r));
      p.child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) p.child.kill('SIGKILL');
    }
    const reports = procs.map((p) => p.report);
    const left = reports.some((x) => x !== undefined) ? reports.flatMap((x) => x ?? []) : undefined;
    const plan = procs.flatMap((p) =>
      p.plan.map((m, i) => ({
        text: m.text,
        key: `${p.slot}/${m.conversationId}`,
        order: i,
        slot: p.slot,
      })),
    );
    if (process.env.CHAOS_LOG_DIR) {
      // debugging a schedule: what the simulator stored and received, beside the children's logs
      writeFileSync(
        join(process.env.CHAOS_LOG_DIR, `${new URL(sim.url).port}-sim.json`),
        JSON.stringify({
          started,
          ids: Object.fromEntries(ids),
          deliveries: sim.control.delivered(),
          attempts: sim.control.attempts(),
          disruptions,
          pids: procs.map((p) => p.pids),
          // when each incarnation's outbox was open ('ready'), and when the drain began
          ready: procs.map((p) => p.readyAt ?? []),
          drainFrom,
          stuckTimeout,
        }),
      );
    }
    const counts = analyse({
      plan,
      committed,
      ids,
      deliveries: sim.control.delivered(),
      attempts: sim.control.attempts(),
      left,
      disruptions,
      clientFailures,
      ...(schedule.transport === 'guest' ? {} : { requests: [...requests.values()], deaths }),
    });
    const failures = [];
    if (counts.lost) failures.push(`${counts.lost} lost`);
    if (counts.duplicated && schedule.transport !== 'open')
      failures.push(`${counts.duplicated} duplicated`);
    // guest: counted from the simulator's side only (an estimate: reported, not a failure by
    // itself; a guest repeat that was stored again is a duplicate, which fails)
    if (counts.unneeded && schedule.transport !== 'guest')
      failures.push(`${counts.unneeded} repeats not needed`);
    if (counts.hammer)
      failures.push(`hammering: ${counts.hammer} requests for one message within 1 s`);
    if (counts.reordered) failures.push(`${counts.reordered} reordered`);
    if (counts.stuck)
      failures.push(`${counts.stuck} stuck${stuckTimeout ? ' (drain timed out)' : ''}`);
    // the live process's flush() had not resolved when the schedule ended
    const unflushed = procs.filter((p) => p.flushing !== undefined).length;
    if (unflushed) failures.push(`flush() never resolved (${unflushed} process)`);
    if (flushFailures.length) failures.push(`flush() rejected: ${flushFailures.join(', ')}`);
    if (flushUntried.length)
      failures.push(
        `a standby's flush() resolved before the sender tried ${flushUntried.length} queued head(s): ${flushUntried.slice(0, 3).join(', ')}`,
      );
    if (unhandled)
      failures.push(
        `${unhandled} unhandled: ${[...new Set(unhandledMessages)].slice(0, 3).join(' / ')}`,
      );
    counts.flushes = procs.reduce((n, p) => n + (p.flushes ?? 0), 0);
    counts.standbyFlushes = procs.reduce((n, p) => n + (p.standbyFlushes ?? 0), 0);
    counts.detail.exits = procs.map((p) => p.exits.map((x) => x.code ?? x.signal).join(','));
    // the drain's timing (ms from its start): every process up, the last message stored
    const stored = sim.control.delivered().map((d) => d.receivedAt);
    counts.detail.drain = {
      upMs: upAt === undefined ? null : upAt - drainFrom,
      lastStoredMs: stored.length === 0 ? null : Math.max(...stored) - drainFrom,
      endMs: ended - drainFrom,
    };
    return { ...counts, kills, unhandled, failures, ms: Date.now() - started };
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const p of procs) if (p.alive) p.child.kill('SIGKILL');
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
