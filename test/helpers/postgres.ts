// A throwaway PostgreSQL cluster for tests and benchmarks: initdb into a temporary directory,
// pg_ctl on a free loopback port, password authentication (scram) for user `postgres`. PostgreSQL
// refuses to run as root, so as root the cluster runs as an unprivileged user (`pgtest`, created
// with useradd when missing). No PostgreSQL installed is an error saying how to install it, never
// a skip.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PgCluster {
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  password: string;
  /** The data directory (postmaster.pid holds the server's process id). */
  dataDir: string;
  /** A URL for another database of this cluster (created on first use). */
  database(name: string): string;
  stop(): void;
}

const USER = 'pgtest';

/** The newest installed PostgreSQL's bin directory, or a one-line error naming the package. */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] === undefined) {
    throw new Error(
      'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install -y postgresql',
    );
  }
  return join(root, versions[0], 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function asUser(cmd: string, args: string[], root: boolean): void {
  const [file, argv] = root ? ['runuser', ['-u', USER, '--', cmd, ...args]] : [cmd, args];
  execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Options of {@link startPostgres}. */
export interface PgClusterOptions {
  /**
   * Load pg_stat_statements (shared_preload_libraries), counting every statement the server runs
   * (`track = all`: statements inside functions too); each database that reads the view needs
   * `CREATE EXTENSION pg_stat_statements`.
   */
  statements?: boolean;
}

/** Starts a cluster; call `stop()` at the end (it also removes the directory). */
export async function startPostgres(options: PgClusterOptions = {}): Promise<PgCluster> {
  const bin = postgresBin();
  const root = process.getuid?.() === 0;
  let uid: number | undefined;
  if (root) {
    try {
      execFileSync('id', ['-u', USER], { stdio: 'pipe' });
    } catch {
      execFileSync('useradd', ['--system', '--no-create-home', USER], { stdio: 'pipe' });
    }
    uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
  }
  const dir = mkdtempSync(join(tmpdir(), 'outbox-pg-'));
  const data = join(dir, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  writeFileSync(join(dir, 'pw'), password);
  chmodSync(dir, 0o700);
  if (uid !== undefined) {
    chownSync(dir, uid, uid);
    chownSync(join(dir, 'pw'), uid, uid);
  }
  asUser(
    join(bin, 'initdb'),
    [
      '-D',
      data,
      '-U',
      'postgres',
      '--pwfile',
      join(dir, 'pw'),
      '-A',
      'scram-sha-256',
      '-E',
      'UTF8',
      '--no-sync',
    ],
    root,
  );
  let port = 0;
  for (let tries = 0; ; tries++) {
    port = await freePort();
    try {
      asUser(
        join(bin, 'pg_ctl'),
        [
          '-D',
          data,
          '-l',
          join(dir, 'log'),
          '-w',
          '-t',
          '120',
          '-o',
          `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200` +
            (options.statements === true
              ? ' -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all'
              : ''),
          'start',
        ],
        root,
      );
      break;
    } catch (e: unknown) {
      if (tries >= 2) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const created = new Set<string>();
  let stopped = false;
  return {
    url,
    port,
    password,
    dataDir: data,
    database(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      if (!created.has(name)) {
        execFileSync(
          join(bin, 'createdb'),
          ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', name],
          {
            env: { ...process.env, PGPASSWORD: password },
            stdio: 'pipe',
          },
        );
        created.add(name);
      }
      return `postgres://postgres:${password}@127.0.0.1:${port}/${name}`;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        asUser(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], root);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
