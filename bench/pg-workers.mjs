// 6. Many workers, one PostgreSQL (issue 13): 10,000 messages over 1,000 conversations through
// the simulator's Open Messaging endpoint (20 ms added latency) with 1, 2, 4 and 8 worker
// processes on one throwaway PostgreSQL cluster. Throughput per worker count as a ratio of the
// ideal, workers × concurrency / RTT (the simulator enforces no rate limit; RTT = the median of
// 30 sequential requests to the same endpoint, measured right before each worker count), and as
// a ratio of workers × concurrency / 20 ms (the latency alone); duplicates stored and
// conversations reordered; CPU ms per message by process and statements per message.
// Then the claim statement's cost with 1,000 and with 1,000,000 queued rows (one head each).
// BENCH_QUICK=1: 2,000 messages, 1/2/4 workers, 100,000 rows. Run alone: node bench/pg-workers.mjs
// BENCH_PROF=dir: a CPU profile (.cpuprofile) of every worker and of the simulator, written when
// they exit; BENCH_WORKERS=1,4 and BENCH_MESSAGES=n choose the runs, BENCH_VERBOSE=1 lists the
// statements PostgreSQL ran, BENCH_WARMUP=n the unmeasured messages per worker drained first
// (default 200).
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileModule, compileNode } from './lib/compile.mjs';
import { startRemoteSimulator } from './lib/remoteSim.mjs';
import { emit, median, round } from './lib/stats.mjs';

const quick = process.env.BENCH_QUICK === '1';
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? (quick ? 2000 : 10_000));
const CONVERSATIONS = 1000;
const WORKERS = (process.env.BENCH_WORKERS ?? (quick ? '1,2,4' : '1,2,4,8')).split(',').map(Number);
const BIG = Number(process.env.BENCH_CLAIM_ROWS ?? (quick ? 100_000 : 1_000_000));
const CONCURRENCY = 4; // the transport's default
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);
const LATENCY_MS = 20;
const WORKER = fileURLToPath(new URL('../test/integration/postgres/worker.mjs', import.meta.url));

const libPath = await compileNode();
const lib = await import(libPath);
const { startPostgres } = await import(
  await compileModule('test/helpers/postgres.ts', 'pg-cluster')
);
const pg = (await import('pg')).default;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const cluster = await startPostgres({ statements: true });

/** CPU seconds (user + system) of a process, with its reaped children when `children`. */
function cpuOf(pid, children = false) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // fields after "(comm) ": state=0 … utime=11 stime=12 cutime=13 cstime=14
    const t = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
    return t / 100;
  } catch {
    return 0;
  }
}
/**
 * Times the process went to sleep waiting for something (voluntary context switches, summed over
 * its threads): one per wake-up of its event loop, roughly. A count, not a timing.
 */
function wakeupsOf(pid) {
  try {
    let n = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(
        readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8'),
      );
      n += Number(m?.[1] ?? 0);
    }
    return n;
  } catch {
    return 0;
  }
}
/** CPU seconds of the PostgreSQL server: postmaster (with its exited backends) + live backends. */
function postgresCpu() {
  const master = Number(
    readFileSync(join(cluster.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0],
  );
  let t = cpuOf(master, true);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(f[1]) === master) t += cpuOf(d);
    } catch {
      // gone meanwhile
    }
  }
  return t;
}
const sim = await startRemoteSimulator();
const result = {
  messages: MESSAGES,
  conversations: CONVERSATIONS,
  concurrency: CONCURRENCY,
  warmupPerWorker: WARMUP,
  workers: {},
};
try {
  await sim.control.reset();
  await sim.control.latency(LATENCY_MS);

  // RTT of one Open Messaging request, as a worker's transport sees it (token fetched once).
  // Measured again right before each worker count: on a shared machine the load, and with it
  // the RTT, changes between runs.
  const tokens = lib.clientCredentials({
    loginUrl: sim.url,
    clientId: 'sim-client',
    clientSecret: 'sim-secret',
  });
  const token = await tokens.getToken();
  const url = `${sim.url}/api/v2/conversations/messages/rtt/inbound/open/message`;
  const measureRtt = async () => {
    const rtts = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          channel: {
            messageId: crypto.randomUUID(),
            time: new Date().toISOString(),
            from: { id: 'rtt', idType: 'Opaque' },
          },
          text: 'rtt',
        }),
      });
      await res.arrayBuffer();
      rtts.push(performance.now() - t);
    }
    return round(median(rtts), 1);
  };
  result.rttMs = await measureRtt();

  const stats = new pg.Pool({ connectionString: cluster.url, max: 1 });
  await stats.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  for (const n of WORKERS) {
    await sim.control.reset();
    await sim.control.latency(LATENCY_MS);
    const rttMs = await measureRtt();
    const schema = `bench_w${n}`;
    const workers = [];
    for (let i = 0; i < n; i++) {
      const config = {
        lib: pathToFileURL(libPath).href,
        url: cluster.url,
        schema,
        simUrl: sim.url,
        leaseMs: 30_000,
      };
      const child = spawn(
        process.execPath,
        [
          ...(process.env.BENCH_PROF
            ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`]
            : []),
          WORKER,
          Buffer.from(JSON.stringify(config)).toString('base64'),
        ],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      workers.push({
        child,
        ready: new Promise((resolve, reject) => {
          child.stdout.on('data', (d) => d.toString().includes('"ready"') && resolve());
          child.once('exit', (c) => reject(new Error(`worker exited ${c}`)));
        }),
      });
    }
    await Promise.all(workers.map((w) => w.ready));
    const producer = lib.postgresStore({ connectionString: cluster.url, schema });
    // Warm-up, not measured: WARMUP messages per worker (200 conversations of their own) drained
    // first, so the figures are a running relay's, not a fresh process's. A worker's first
    // ~hundred deliveries cost it ~0.3 CPU-seconds more than later ones (JIT tiers, the pool's
    // first connections, the token fetch): over 2,000 messages that was 1.95 against 1.52 ms per
    // message at 4 workers (BENCHMARKS.md). BENCH_WARMUP=0 measures from the first message.
    if (WARMUP > 0) {
      const warm = [];
      for (let k = 0; k < WARMUP * n; k++) {
        warm.push({
          id: crypto.randomUUID(),
          conversationId: `warm${k % 200}`,
          text: 'x'.repeat(200),
          status: 'pending',
          attempts: 0,
          createdAt: Date.now(),
        });
      }
      await producer.append(warm);
      while ((await producer.count()) > 0) await sleep(100);
      await sleep(200); // the last removals' claims settle
    }
    await stats.query('SELECT pg_stat_statements_reset()');
    const wake0 = workers.reduce((t, w) => t + wakeupsOf(w.child.pid), 0);
    const cpu0 = {
      workers: workers.reduce((t, w) => t + cpuOf(w.child.pid), 0),
      simulator: cpuOf(sim.pid),
      postgres: postgresCpu(),
    };
    const sent = new Map();
    for (let i = 0; i < MESSAGES; i += 1000) {
      const batch = [];
      for (let k = i; k < Math.min(MESSAGES, i + 1000); k++) {
        const e = {
          id: crypto.randomUUID(),
          conversationId: `c${k % CONVERSATIONS}`,
          text: 'x'.repeat(200),
          status: 'pending',
          attempts: 0,
          createdAt: Date.now(),
        };
        sent.set(e.id, k);
        batch.push(e);
      }
      await producer.append(batch);
    }
    while ((await producer.count()) > 0) await sleep(100);
    const wakeups = workers.reduce((t, w) => t + wakeupsOf(w.child.pid), 0) - wake0;
    const cpu = {
      workers: workers.reduce((t, w) => t + cpuOf(w.child.pid), 0) - cpu0.workers,
      simulator: cpuOf(sim.pid) - cpu0.simulator,
      postgres: postgresCpu() - cpu0.postgres,
    };
    const statements = (
      await stats.query(
        `SELECT calls, total_exec_time, toplevel, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS q
         FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'
         ORDER BY calls DESC`,
      )
    ).rows;
    await producer.close();
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(
      workers.map(
        (w) => new Promise((r) => (w.child.exitCode !== null ? r() : w.child.once('exit', r))),
      ),
    );

    const delivered = (await sim.control.delivered()).filter(
      (d) => d.kind === 'open' && sent.has(d.externalId),
    );
    const times = delivered.map((d) => d.receivedAt);
    const drainMs = Math.max(...times) - Math.min(...times);
    const perSecond = ((delivered.length - 1) * 1000) / drainMs;
    const counts = new Map();
    for (const d of delivered) counts.set(d.externalId, (counts.get(d.externalId) ?? 0) + 1);
    const last = new Map();
    let reordered = 0;
    for (const d of delivered) {
      const k = sent.get(d.externalId);
      const c = k % CONVERSATIONS;
      if ((last.get(c) ?? -1) > k) reordered++;
      last.set(c, Math.max(last.get(c) ?? -1, k));
    }
    const ideal = (n * CONCURRENCY * 1000) / rttMs;
    // The bound no load can lift: every slot busy, each request taking only the added latency.
    const floor = (n * CONCURRENCY * 1000) / LATENCY_MS;
    result.workers[n] = {
      perSecond: round(perSecond, 0),
      rttMs,
      idealPerSecond: round(ideal, 0),
      ratio: round(perSecond / ideal, 2),
      ratioToLatencyFloor: round(perSecond / floor, 2),
      drainMs: round(drainMs, 0),
      missing: MESSAGES - counts.size,
      duplicates: [...counts.values()].filter((x) => x > 1).length,
      reordered,
      loadAverage: loadavg()[0].toFixed(1),
      // Per delivered message: CPU ms by process group, and statements the workers sent.
      cpuMsPerMessage: Object.fromEntries(
        Object.entries(cpu).map(([k, v]) => [k, round((v * 1000) / MESSAGES, 2)]),
      ),
      // CPU-seconds per second the run used (workers + simulator + PostgreSQL), of `cores`.
      cpuSecondsPerSecond: round(
        ((cpu.workers + cpu.simulator + cpu.postgres) * 1000) / drainMs,
        2,
      ),
      cores: cpus().length,
      // Workers' wake-ups (voluntary context switches, all threads) per delivered message.
      workerWakeupsPerMessage: round(wakeups / MESSAGES, 2),
      statementsPerMessage: round(
        statements.filter((s) => s.toplevel).reduce((t, s) => t + Number(s.calls), 0) / MESSAGES,
        2,
      ),
    };
    if (process.env.BENCH_VERBOSE === '1') {
      for (const s of statements.slice(0, 25)) {
        process.stderr.write(
          `    ${s.toplevel ? 'top ' : 'in  '} ${String(s.calls).padStart(7)} ${Number(s.total_exec_time).toFixed(0).padStart(6)} ms  ${s.q}\n`,
        );
      }
    }
    process.stderr.write(`  ${n} workers: ${JSON.stringify(result.workers[n])}\n`);
  }

  await stats.end();

  // The claim statement at 1k and at BIG queued rows (one head per row: the worst case).
  const admin = new pg.Pool({ connectionString: cluster.url, max: 1 });
  result.claim = {};
  for (const rows of [1000, BIG]) {
    const schema = `bench_claim_${rows}`;
    const store = lib.postgresStore({ connectionString: cluster.url, schema });
    await store.open();
    const S = `"${schema}"`;
    await admin.query(
      `INSERT INTO ${S}.entries (id, conversation_id, seq, status, data)
       SELECT 'e' || i, 'c' || i, nextval('${schema}.entry_seq'), 'pending',
              jsonb_build_object('id', 'e' || i, 'conversationId', 'c' || i, 'text', 'x',
                'status', 'pending', 'attempts', 0, 'createdAt', 0)
       FROM generate_series(1, $1) i`,
      [rows],
    );
    await admin.query(
      `INSERT INTO ${S}.heads (conversation_id, entry_id, seq, due_at)
       SELECT conversation_id, id, seq, 0 FROM ${S}.entries`,
    );
    await admin.query(`ANALYZE ${S}.heads`);
    await admin.query(`ANALYZE ${S}.entries`);
    const ms = [];
    let now = Date.now();
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      const r = await store.claimDue({ limit: CONCURRENCY, now });
      ms.push(performance.now() - t);
      if (r.entries.length !== CONCURRENCY) throw new Error(`claimed ${r.entries.length}`);
    }
    const plan = await admin.query(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT conversation_id FROM ${S}.heads
       WHERE due_at <= $1 ORDER BY due_at, seq LIMIT ${CONCURRENCY} FOR UPDATE SKIP LOCKED`,
      [now],
    );
    const top = plan.rows[0]['QUERY PLAN'][0];
    result.claim[rows] = {
      medianMs: round(median(ms), 2),
      p90Ms: round([...ms].sort((a, b) => a - b)[Math.floor(ms.length * 0.9)], 2),
      bufferHits: top.Plan['Shared Hit Blocks'],
      scan: JSON.stringify(top.Plan).includes('heads_due') ? 'index heads_due' : 'other',
    };
    await store.close();
    await admin.query(`DROP SCHEMA ${S} CASCADE`);
    process.stderr.write(`  claim at ${rows} rows: ${JSON.stringify(result.claim[rows])}\n`);
  }
  await admin.end();
  result.claim.ratio = round(result.claim[BIG].medianMs / result.claim[1000].medianMs, 2);
} finally {
  await sim.close();
  cluster.stop();
}
await emit(result);
