// postgresStore on a real, throwaway PostgreSQL cluster (test/helpers/postgres.ts): the store
// contract suite, migrations and versions, the errors an operator meets, and claims between
// several stores (workers) on one database.
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { postgresStore, POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import { startPostgres } from '../helpers/postgres.js';
import { rejectionCode } from '../helpers/errorCode.js';
import { newEntry, runStoreContract } from '../unit/store-contract.js';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';

const cluster = await startPostgres({ statements: true });
const admin = new pg.Pool({ connectionString: cluster.url, max: 2 });
afterAll(async () => {
  await admin.end();
  cluster.stop();
});

let schemas = 0;
const freshSchema = (): string => `t${process.pid}_${++schemas}`;

runStoreContract('postgres', async () => {
  const schema = freshSchema();
  let current = postgresStore({ connectionString: cluster.url, schema });
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = postgresStore({ connectionString: cluster.url, schema });
      return current;
    },
    cleanup: async () => {
      await current.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
});

describe('postgresStore: opening', () => {
  it('creates the schema on first open, at the current version; a second open changes nothing', async () => {
    const schema = freshSchema();
    const a = postgresStore({ connectionString: cluster.url, schema });
    await a.open();
    const [e] = await a.append([newEntry()]);
    await a.close();
    const b = postgresStore({ connectionString: cluster.url, schema });
    expect((await b.get(e!.id))?.text).toBe(e!.text);
    await b.close();
    const v = await admin.query(`SELECT version FROM "${schema}".schema_version ORDER BY version`);
    expect(v.rows.map((r: { version: number }) => r.version)).toEqual(
      Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1),
    );
  });

  it('several workers opening a new schema at once: one migrates, all work', async () => {
    const schema = freshSchema();
    const stores = Array.from({ length: 4 }, () =>
      postgresStore({ connectionString: cluster.url, schema }),
    );
    await Promise.all(stores.map((s) => s.open()));
    await Promise.all(stores.map((s, i) => s.append([newEntry({ conversationId: `c${i}` })])));
    expect(await stores[0]!.count()).toBe(4);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('a schema from a newer version is refused with schema-too-new and left untouched', async () => {
    const schema = freshSchema();
    const a = postgresStore({ connectionString: cluster.url, schema });
    await a.append([newEntry()]);
    await a.close();
    await admin.query(`INSERT INTO "${schema}".schema_version VALUES ($1)`, [
      POSTGRES_SCHEMA_VERSION + 1,
    ]);
    const b = postgresStore({ connectionString: cluster.url, schema });
    expect(await rejectionCode(b.open())).toBe('schema-too-new');
    expect(await rejectionCode(b.count())).toBe('schema-too-new');
    await b.close();
    const n = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".entries`);
    expect(n.rows[0].n).toBe(1);
  });

  it('wrong password: storage-auth-failed; nothing listening: storage-unreachable', async () => {
    const wrong = cluster.url.replace(cluster.password, 'not-the-password');
    const a = postgresStore({ connectionString: wrong, schema: freshSchema() });
    const err = await a.open().catch((e: unknown) => e);
    expect(await rejectionCode(Promise.reject(err))).toBe('storage-auth-failed');
    expect(String((err as Error).message)).not.toContain('not-the-password');
    await a.close();
    const srv = await import('node:net').then(
      (net) =>
        new Promise<number>((resolve) => {
          const s = net.createServer();
          s.listen(0, '127.0.0.1', () => {
            const port = (s.address() as { port: number }).port;
            s.close(() => resolve(port));
          });
        }),
    );
    const b = postgresStore({
      connectionString: `postgres://postgres:x@127.0.0.1:${srv}/postgres`,
      schema: freshSchema(),
    });
    expect(await rejectionCode(b.open())).toBe('storage-unreachable');
    await b.close();
  });

  it('uses a pool the caller passes, and leaves it open on close', async () => {
    const pool = new pg.Pool({ connectionString: cluster.url, max: 3 });
    const s = postgresStore({ pool, schema: freshSchema() });
    await s.append([newEntry()]);
    expect(await s.count()).toBe(1);
    await s.close();
    expect((await pool.query('SELECT 1 AS x')).rows[0].x).toBe(1);
    await pool.end();
  });

  it('bad options are invalid-options', () => {
    expect(() => postgresStore({ schema: 'x' })).toThrow(/exactly one/);
    expect(() => postgresStore({ connectionString: cluster.url, schema: 'Robert"; DROP' })).toThrow(
      /identifier/,
    );
  });
});

describe('postgresStore: claims between workers', () => {
  const open = async (schema: string, leaseMs = 60_000): Promise<OutboxStore> => {
    const s = postgresStore({ connectionString: cluster.url, schema, leaseMs });
    await s.open();
    return s;
  };

  it('each head goes to one worker at a time; the next entry only after the head left', async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    const stored = await a.append([
      newEntry({ conversationId: 'x' }),
      newEntry({ conversationId: 'x' }),
      newEntry({ conversationId: 'y' }),
    ]);
    const now = Date.now();
    const ca = await a.claimDue!({ limit: 10, now });
    const cb = await b.claimDue!({ limit: 10, now });
    expect(ca.entries.map((e) => e.id).sort()).toEqual([stored[0]!.id, stored[2]!.id].sort());
    expect(cb.entries).toEqual([]);
    expect(cb.nextDueAt).toBeGreaterThan(now); // the leases' end
    // a attempts x's head and delivers it: x's next entry is free for anyone
    await a.update({ ...ca.entries.find((e) => e.conversationId === 'x')!, status: 'sending' });
    expect((await b.claimDue!({ limit: 10, now })).entries).toEqual([]);
    await a.removeDelivered!(stored[0]!.id, []);
    const cb2 = await b.claimDue!({ limit: 10, now });
    expect(cb2.entries.map((e) => e.id)).toEqual([stored[1]!.id]);
    await Promise.all([a.close(), b.close()]);
  });

  it("a dead worker's claim is taken over when its lease ends; a rescheduled head is due at its time", async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema, 200), await open(schema, 200)];
    const [e] = await a.append([newEntry({ conversationId: 'x' })]);
    const now = Date.now();
    const ca = await a.claimDue!({ limit: 1, now });
    expect(ca.entries).toHaveLength(1);
    await a.update({ ...e!, status: 'sending' });
    // a "dies" (its renewals stop: it never answers again); b must not get it before the lease ends
    const lease = ca.entries[0]!;
    expect((await b.claimDue!({ limit: 1, now })).entries).toEqual([]);
    const cb = await b.claimDue!({ limit: 1, now: now + 60_000 });
    expect(cb.entries.map((x) => x.id)).toEqual([lease.id]);
    expect(cb.entries[0]!.status).toBe('sending'); // in doubt for b
    // b reschedules it: no one may claim it before its nextAttemptAt
    await b.update({ ...cb.entries[0]!, status: 'pending', nextAttemptAt: now + 120_000 });
    expect((await a.claimDue!({ limit: 1, now: now + 60_000 })).entries).toEqual([]);
    expect((await a.claimDue!({ limit: 1, now: now + 60_000 })).nextDueAt).toBe(now + 120_000);
    expect((await a.claimDue!({ limit: 1, now: now + 120_000 })).entries).toHaveLength(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('an append racing the delivery of the same conversation leaves the new entry its head (FIFO)', async () => {
    // A producer's append is not committed yet when a worker removes the conversation's last
    // queued entry: the worker's head refresh must wait for it and see the new entry, else the
    // conversation keeps a queued entry without a head and a later append overtakes it.
    const schema = freshSchema();
    const worker = await open(schema);
    const [first] = await worker.append([newEntry({ conversationId: 'r' })]);
    const second = newEntry({ conversationId: 'r' });
    const producer = await admin.connect();
    await producer.query('BEGIN');
    await producer.query(`SELECT "${schema}".append_entries($1::jsonb)`, [
      JSON.stringify([second]),
    ]);
    let removed = false;
    const removing = worker.removeDelivered!(first!.id, []).then(() => (removed = true));
    // Until the removal either finished or waits for the producer's lock.
    for (;;) {
      const waiting = await admin.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE wait_event_type = 'Lock' AND query LIKE '%remove%'`,
      );
      if (removed || waiting.rows[0].n > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await producer.query('COMMIT');
    producer.release();
    await removing;
    expect((await worker.headOf!('r'))?.id).toBe(second.id);
    const third = (await worker.append([newEntry({ conversationId: 'r' })]))[0]!;
    const claimed = await worker.claimDue!({ limit: 10, now: Date.now() });
    expect(claimed.entries.map((e) => e.id)).toEqual([second.id]);
    expect(third.seq).toBeGreaterThan(claimed.entries[0]!.seq);
    await worker.close();
  });

  it('a new entry notifies the other workers (LISTEN/NOTIFY)', async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    const heard = new Promise<void>((resolve) => b.watch!(resolve));
    await a.append([newEntry()]);
    await heard;
    await Promise.all([a.close(), b.close()]);
  });
});

describe('postgresStore: an idle worker', () => {
  it('runs no statement at all while there is nothing to send (no polling, no lease renewals)', async () => {
    // Counted by the server (pg_stat_statements, every statement of the worker's database,
    // nested ones included), so any loop that queries while idle shows up, whatever its code path.
    const url = cluster.database('idle_worker');
    await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const statements = async (): Promise<number> =>
      Number(
        (
          await admin.query(
            `SELECT coalesce(sum(calls), 0) AS n FROM pg_stat_statements
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'idle_worker')`,
          )
        ).rows[0].n,
      );
    const transport = new ScriptedTransport((entry) =>
      entry.text === 'refused'
        ? {
            kind: 'rejected' as const,
            error: { code: 'rejected' as const, message: 'refused', status: 400 },
          }
        : { kind: 'delivered' as const },
    );
    // A short lease: a renewal loop left running would query every 100 ms.
    const outbox = await createOutbox({
      transport,
      store: postgresStore({ connectionString: url, schema: 'idle', leaseMs: 300 }),
      logger: { debug() {}, warn() {}, error() {} },
    });
    const sent = await Promise.all(
      ['one', 'two', 'refused', 'three'].map((text) =>
        outbox.send({ text, conversationId: `c-${text}` }),
      ),
    );
    const settled = await Promise.all(sent.map((e) => outbox.whenSettled(e.id)));
    expect(settled.map((e) => e.status)).toEqual(['sent', 'sent', 'failed', 'sent']);
    // The last writes of the drain (and the pass after them) end within a moment.
    let before = await statements();
    for (;;) {
      await new Promise((r) => setTimeout(r, 400));
      const now = await statements();
      if (now === before) break;
      before = now;
    }
    expect(before).toBeGreaterThan(0); // the counter does see this worker
    await new Promise((r) => setTimeout(r, 3000));
    expect((await statements()) - before).toBe(0);
    // Still awake: a new message is sent at once (LISTEN/NOTIFY, not a timer).
    const more = await outbox.send({ text: 'four' });
    expect((await outbox.whenSettled(more.id)).status).toBe('sent');
    await outbox.close();
  }, 20_000);
});
