// The operator's CLI on real stores: a SQLite file and a throwaway PostgreSQL cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT, runCli } from '../../src/cli/outbox.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import { postgresStore } from '../../src/store/postgres.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import { newEntry } from '../unit/store-contract.js';
import { startPostgres } from '../helpers/postgres.js';

const cluster = await startPostgres();
const dir = mkdtempSync(join(tmpdir(), 'outbox-cli-'));
afterAll(() => {
  cluster.stop();
  rmSync(dir, { recursive: true, force: true });
});

const NOW = 1_700_000_100_000;
async function run(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    now: () => NOW,
  });
  return { code, out, err };
}

/** Three entries: one pending, one failed, one sending, in two conversations; secret texts. */
async function seed(store: OutboxStore): Promise<string[]> {
  const stored = await store.append([
    newEntry({ conversationId: 'a', text: 'SECRET-one', createdAt: NOW - 10_000 }),
    newEntry({ conversationId: 'a', text: 'SECRET-two', createdAt: NOW - 5_000 }),
    newEntry({ conversationId: 'b', text: 'SECRET-three', createdAt: NOW - 1_000 }),
  ]);
  await store.update({
    ...stored[1]!,
    status: 'failed',
    lastError: { code: 'rejected', message: 'HTTP 400' },
  });
  await store.update({ ...stored[2]!, status: 'sending' });
  await store.close();
  return stored.map((e) => e.id);
}

const kinds: [string, () => Promise<{ args: string[]; store: () => OutboxStore }>][] = [
  [
    'sqlite',
    async () => {
      const path = join(dir, `cli-${Math.random().toString(36).slice(2)}.db`);
      return { args: ['--sqlite', path], store: () => sqliteStore({ path }) };
    },
  ],
  [
    'postgres',
    async () => {
      const schema = `cli_${Math.random().toString(36).slice(2, 8)}`;
      return {
        args: ['--postgres', cluster.url, '--schema', schema],
        store: () => postgresStore({ connectionString: cluster.url, schema }),
      };
    },
  ],
];

describe.each(kinds)('genesys-outbox on %s', (_kind, make) => {
  it('status, list, show, export, retry, discard; text only with --text; cron exit codes', async () => {
    const { args, store } = await make();
    const [pending, failed, sending] = await seed(store());

    const status = await run(['status', ...args, '--json']);
    expect(status.code).toBe(EXIT.failed);
    const report = JSON.parse(status.out[0]!);
    expect(report).toMatchObject({
      total: 3,
      byStatus: { pending: 1, sending: 1, failed: 1 },
      conversations: 2,
      oldestPendingSeconds: 10,
    });
    expect(report.failed).toEqual([
      expect.objectContaining({ id: failed, lastError: { code: 'rejected', message: 'HTTP 400' } }),
    ]);
    expect(status.out.join('\n')).not.toContain('SECRET');

    const list = await run(['list', ...args]);
    expect(list.code).toBe(EXIT.ok);
    expect(list.out).toHaveLength(3);
    expect(list.out.join('\n')).not.toContain('SECRET');
    expect((await run(['list', ...args, '--text'])).out.join('\n')).toContain('SECRET-one');

    const show = await run(['show', failed!, ...args, '--json']);
    expect(JSON.parse(show.out[0]!)).toMatchObject({
      id: failed,
      status: 'failed',
      textLength: 10,
    });
    expect((await run(['show', 'nope', ...args])).code).toBe(EXIT.notFound);

    const exported = await run(['export', ...args]);
    expect(exported.out.map((l) => JSON.parse(l).id)).toEqual([pending, failed, sending]);
    expect(exported.out.join('\n')).not.toContain('SECRET');

    // retry: only a failed entry; it goes to the back of its conversation, pending again
    expect((await run(['retry', pending!, ...args])).code).toBe(EXIT.notFound);
    expect((await run(['retry', failed!, ...args])).code).toBe(EXIT.ok);
    const s = store();
    const retried = await s.get(failed!);
    expect(retried).toMatchObject({ status: 'pending', attempts: 0, retriedAt: NOW });
    expect((await s.list()).map((e) => e.id)).toEqual([pending, sending, failed]);
    await s.close();

    // no failures left, the oldest queued is 10 s old: stale only past --stale-after
    expect((await run(['status', ...args])).code).toBe(EXIT.ok);
    expect((await run(['status', ...args, '--stale-after', '5'])).code).toBe(EXIT.stale);

    expect((await run(['discard', pending!, ...args])).code).toBe(EXIT.ok);
    expect((await run(['discard', pending!, ...args])).code).toBe(EXIT.notFound);
    const after = await run(['status', ...args, '--json']);
    expect(JSON.parse(after.out[0]!).total).toBe(2);
  });
});

describe('genesys-outbox: usage and storage errors', () => {
  it('usage errors exit 1; a missing SQLite file or unreachable PostgreSQL exit 5 without the URL', async () => {
    expect((await run([])).code).toBe(EXIT.usage);
    expect((await run(['status'])).code).toBe(EXIT.usage);
    expect((await run(['show', '--sqlite', 'x.db'])).code).toBe(EXIT.usage);
    expect((await run(['frobnicate', '--sqlite', 'x.db'])).code).toBe(EXIT.usage);
    expect((await run(['status', '--sqlite', 'a', '--postgres', 'b'])).code).toBe(EXIT.usage);
    expect((await run(['status', '--bogus'])).code).toBe(EXIT.usage);
    const missing = await run(['status', '--sqlite', join(dir, 'does-not-exist.db')]);
    expect(missing.code).toBe(EXIT.storage);
    const wrong = cluster.url.replace(cluster.password, 'hunter2');
    const denied = await run(['status', '--postgres', wrong]);
    expect(denied.code).toBe(EXIT.storage);
    expect(denied.err.join('\n')).toContain('storage-auth-failed');
    expect(denied.err.join('\n')).not.toContain('hunter2');
  });
});
