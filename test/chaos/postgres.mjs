// The PostgreSQL side of the chaos suite's `pg` tier: one throwaway cluster for the whole run
// (test/helpers/postgres.ts: initdb + pg_ctl on a free loopback port, as an unprivileged user
// when run as root), a fresh schema for each schedule, stopped when the run ends.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A dead worker's claims are taken over after this (the store renews every third of it). */
export const PG_LEASE_MS = 10_000;
/** Connections per worker (one of them LISTENs): 8 schedules x 4 workers stay under 200. */
const POOL_MAX = 4;

let cluster;
let schemas = 0;

async function start() {
  // The helper is TypeScript (shared with the tests): bundled once for plain node.
  const dir = join(ROOT, 'node_modules/.cache/outbox-chaos');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'pg-cluster.mjs');
  await build({
    entryPoints: [join(ROOT, 'test/helpers/postgres.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  const { startPostgres } = await import(pathToFileURL(outfile).href);
  const c = await startPostgres();
  process.once('exit', () => c.stop());
  return c;
}

/** The store config of one schedule's workers: `storeFactory` of runNodeSchedule. */
export async function postgresStoreConfig(schedule) {
  cluster ??= start();
  const c = await cluster;
  schemas += 1;
  return {
    kind: 'postgres',
    url: c.url,
    schema: `chaos_${schedule.transport}_${schedule.seed}_${schemas}`,
    leaseMs: PG_LEASE_MS,
    poolMax: POOL_MAX,
  };
}

/** Stops the cluster, if one was started. */
export async function stopPostgres() {
  if (cluster !== undefined) (await cluster).stop();
  cluster = undefined;
}
