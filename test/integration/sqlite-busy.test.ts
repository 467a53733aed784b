// A SQLite file locked by another process must not freeze the event loop (issue 10, defect 9):
// better-sqlite3's busy_timeout waits synchronously; the store retries on timers instead.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/store/sqlite.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import { rejectionCode } from '../helpers/errorCode.js';
import { waitFor } from '../helpers/waitFor.js';
import { newEntry } from '../unit/store-contract.js';

/**
 * Another process that takes the write lock of `path` (BEGIN EXCLUSIVE; in WAL mode readers go
 * on, writers are locked out), says `locked`, and commits when its stdin gets a line.
 */
async function lockHolder(path: string): Promise<ChildProcess> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(${JSON.stringify(path)});
    db.exec('BEGIN EXCLUSIVE');
    process.stdout.write('locked\\n');
    process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });
    setTimeout(() => process.exit(3), 60000).unref();
  `;
  const child = spawn(process.execPath, ['-e', script], {
    cwd: process.cwd(),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('locked'), { timeoutMs: 20_000, what: 'the lock holder' });
  return child;
}

async function release(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.stdin?.write('go\n');
  await exited;
}

describe('sqliteStore: a file locked by another process', () => {
  let dir: string;
  let store: OutboxStore | undefined;
  let holder: ChildProcess | undefined;
  let interval: ReturnType<typeof setInterval> | undefined;
  afterEach(async () => {
    clearInterval(interval);
    if (holder) await release(holder);
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const setup = async (busyTimeoutMs?: number) => {
    dir = await mkdtemp(join(tmpdir(), 'outbox-busy-'));
    const path = join(dir, 'o.db');
    store = sqliteStore(busyTimeoutMs === undefined ? { path } : { path, busyTimeoutMs });
    await store.open(); // creates the file in WAL mode
    holder = await lockHolder(path);
    let ticks = 0;
    interval = setInterval(() => ticks++, 5);
    return { store, ticks: () => ticks };
  };

  it('an append waits on timers while the lock is held, then commits once it is released', async () => {
    const { store: s, ticks } = await setup();
    const atCall = ticks();
    let settled = false;
    const appended = s.append([newEntry({ text: 'waited' })]);
    void appended.then(
      () => (settled = true),
      () => (settled = true),
    );
    // The event loop keeps running while the append is pending: the interval fires (a count of
    // ticks, not a timing) and the append is still waiting.
    await waitFor(() => ticks() >= atCall + 10, { timeoutMs: 20_000, what: 'interval ticks' });
    expect(settled).toBe(false);
    // Reads are not locked out in WAL mode.
    expect(await s.count()).toBe(0);
    await release(holder!);
    const [stored] = await appended;
    expect((await s.list()).map((e) => e.id)).toEqual([stored!.id]);
  });

  it('a lock held longer than busyTimeoutMs ends in storage-busy, the loop running all along', async () => {
    const { store: s, ticks } = await setup(300);
    const atCall = ticks();
    const code = await rejectionCode(s.append([newEntry()]));
    expect(code).toBe('storage-busy');
    expect(ticks()).toBeGreaterThan(atCall);
    // Nothing was stored, and the store works once the lock is gone.
    await release(holder!);
    expect(await s.count()).toBe(0);
    await s.append([newEntry()]);
    expect(await s.count()).toBe(1);
  });
});
