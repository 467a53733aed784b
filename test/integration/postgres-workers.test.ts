// Many workers, one database (DESIGN rule 11), with real processes: four workers on one
// PostgreSQL drain a queue through the simulator's Open Messaging endpoint while a seeded
// schedule SIGKILLs and restarts them and a producer keeps adding messages. Nothing may be lost,
// stored twice or reordered within a conversation; a message is sent again only after a kill
// (a lease taken over), so the simulator's refused repeats are bounded by the kills.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { postgresStore } from '../../src/store/postgres.js';
import { startSimulator } from '../../simulator/index.js';
import type { NewEntry } from '../../src/outbox/entry.js';
import { startPostgres } from '../helpers/postgres.js';
import { compileLib } from '../helpers/compileLib.js';
import { waitFor } from '../helpers/waitFor.js';
import { prng } from '../helpers/prng.js';

const WORKER = fileURLToPath(new URL('./postgres/worker.mjs', import.meta.url));
const cluster = await startPostgres();
const lib = await compileLib('pg-workers');
const sim = await startSimulator({ port: 0, controlPort: 0, dedupeOpenMessageId: true });
afterAll(async () => {
  await sim.close();
  cluster.stop();
});

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
}

function startWorker(schema: string, leaseMs: number): Worker {
  const config = { lib, url: cluster.url, schema, simUrl: sim.url, leaseMs };
  const child = spawn(
    process.execPath,
    [WORKER, Buffer.from(JSON.stringify(config)).toString('base64')],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('"ready"')) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`worker exited ${code ?? signal}`)));
  });
  ready.catch(() => {}); // a worker killed before it was ready
  live.add(child);
  child.once('exit', () => live.delete(child));
  return { child, ready };
}

/** Every worker still running: a failed seed's are killed before the next seed resets the
 * simulator (left running, they delivered into the next seed's count). */
const live = new Set<ChildProcess>();
afterEach(() => {
  for (const child of live) child.kill('SIGKILL');
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('four worker processes on one PostgreSQL, SIGKILLed on a seeded schedule', () => {
  it.each([1, 2])(
    'seed %i: 0 lost, 0 stored twice, 0 reordered; repeats only after kills',
    async (seed) => {
      const r = prng(seed);
      const schema = `workers_${seed}`;
      const leaseMs = 800;
      const conversations = r.int(20, 40);
      const messages = r.int(250, 400);
      await sim.control.reset();
      sim.control.setDedupeOpenMessageId(true);
      sim.control.latency(r.int(5, 20));

      const producer = postgresStore({ connectionString: cluster.url, schema });
      await producer.open();
      const sent: NewEntry[] = [];
      const make = (i: number): NewEntry => ({
        id: crypto.randomUUID(),
        conversationId: `s${seed}-c${i % conversations}`,
        text: `seed ${seed} message ${i}`,
        metadata: { n: String(i) },
        status: 'pending',
        attempts: 0,
        createdAt: Date.now(),
      });
      // Half queued before any worker runs, the rest while they work (NOTIFY wakes them).
      const first = Array.from({ length: Math.floor(messages / 2) }, (_, i) => make(i));
      await producer.append(first);
      sent.push(...first);

      const workers: Worker[] = Array.from({ length: 4 }, () => startWorker(schema, leaseMs));
      await Promise.all(workers.map((w) => w.ready));

      let kills = 0;
      const producing = (async () => {
        for (let i = first.length; i < messages;) {
          const batch = Array.from({ length: Math.min(r.int(1, 20), messages - i) }, (_, k) =>
            make(i + k),
          );
          i += batch.length;
          await producer.append(batch);
          sent.push(...batch);
          await sleep(r.int(0, 40));
        }
      })();
      const killing = (async () => {
        const count = r.int(4, 7);
        for (let k = 0; k < count; k++) {
          await sleep(r.int(100, 500));
          const slot = r.int(0, workers.length - 1);
          workers[slot]!.child.kill('SIGKILL');
          kills++;
          await sleep(r.int(0, 400));
          workers[slot] = startWorker(schema, leaseMs);
        }
      })();
      await Promise.all([producing, killing]);
      await waitFor(async () => (await producer.count()) === 0, {
        what: 'the queue drained',
        timeoutMs: 150_000,
      });

      for (const w of workers) w.child.kill('SIGTERM');
      await Promise.all(
        workers.map(
          (w) =>
            new Promise((res) => (w.child.exitCode !== null ? res(0) : w.child.once('exit', res))),
        ),
      );
      await producer.close();

      const delivered = sim.control.delivered().filter((d) => d.kind === 'open');
      const byKey = new Map<string, number>();
      for (const d of delivered) byKey.set(d.externalId!, (byKey.get(d.externalId!) ?? 0) + 1);
      const lost = sent.filter((e) => !byKey.has(e.id)).length;
      const storedTwice = [...byKey.values()].filter((n) => n > 1).length;
      const n = new Map(sent.map((e) => [e.id, Number(e.metadata!.n)]));
      const conv = new Map(sent.map((e) => [e.id, e.conversationId]));
      const last = new Map<string, number>();
      let reordered = 0;
      for (const d of delivered) {
        const c = conv.get(d.externalId!)!;
        const i = n.get(d.externalId!)!;
        if ((last.get(c) ?? -1) > i) reordered++;
        last.set(c, Math.max(last.get(c) ?? -1, i));
      }
      const repeats = sim.control
        .attempts()
        .filter((a) => a.kind === 'open' && a.alreadyStored).length;
      const summary = {
        seed,
        messages,
        conversations,
        kills,
        lost,
        storedTwice,
        reordered,
        repeats,
      };
      console.info(JSON.stringify(summary));
      expect(summary).toMatchObject({ lost: 0, storedTwice: 0, reordered: 0 });
      expect(delivered).toHaveLength(messages);
      // Each kill can leave at most one attempt per transport slot (4) in doubt.
      expect(repeats).toBeLessThanOrEqual(kills * 4);
    },
    240_000,
  );
});
