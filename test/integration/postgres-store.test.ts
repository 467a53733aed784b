// postgresStore on a real, throwaway PostgreSQL cluster (test/helpers/postgres.ts): the store
// contract suite, migrations and versions, the errors an operator meets, and claims between
// several stores (workers) on one database.
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { readFileSync } from 'node:fs';
import { postgresError, postgresStore, POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import { startPostgres } from '../helpers/postgres.js';
import { rejectionCode } from '../helpers/errorCode.js';
import { line, newEntry, runStoreContract } from '../unit/store-contract.js';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
import { GatedTransport } from '../helpers/gatedTransport.js';
import { waitFor } from '../helpers/waitFor.js';

const cluster = await startPostgres({ statements: true });
const admin = new pg.Pool({ connectionString: cluster.url, max: 2 });
afterAll(async () => {
  await admin.end();
  cluster.stop();
});

let schemas = 0;
const freshSchema = (): string => `t${process.pid}_${++schemas}`;

runStoreContract(
  'postgres',
  async () => {
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
  },
  { sweep: true },
);

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

  it("a schema at v3 (the v3 release's dump) is upgraded: entries, order, transcript, meta kept; v4's claim works", async () => {
    const schema = freshSchema();
    const dump = readFileSync(new URL('./fixtures/postgres-v3.sql', import.meta.url), 'utf8');
    // The dump sets the session's search_path: its own connection, not one of the shared pool.
    const loader = new pg.Client({ connectionString: cluster.url });
    await loader.connect();
    await loader.query(dump.replaceAll('v3fixture', schema));
    await loader.end();
    const id = (n: number): string =>
      `00000000-0000-4000-8000-0000000003${String(n).padStart(2, '0')}`;

    const s = postgresStore({ connectionString: cluster.url, schema });
    await s.open();
    const v = await admin.query(`SELECT version FROM "${schema}".schema_version ORDER BY version`);
    expect(v.rows.map((r: { version: number }) => r.version)).toEqual([1, 2, 3, 4, 5, 6]);
    // every entry, in its order, as the v3 release stored it
    expect((await s.list()).map((e) => [e.id, e.conversationId, e.status, e.seq])).toEqual([
      [id(1), 'a', 'sending', 1],
      [id(2), 'b', 'failed', 2],
      [id(3), 'a', 'pending', 3],
      [id(5), 'b', 'pending', 5],
      [id(6), 'a', 'pending', 6],
      [id(7), 'c', 'pending', 7],
    ]);
    expect(await s.get(id(6))).toMatchObject({ text: 'v3 message 6', metadata: { k: 'v' } });
    expect(await s.get(id(2))).toMatchObject({ lastError: { code: 'rejected', status: 400 } });
    expect(await s.getMeta('sessionToken')).toBe('v3-session-token');
    // the transcript in its places (the agent's line in 'a' sits before the guest's)
    expect((await s.listTranscript('a')).map((r) => r.key)).toEqual(['agent-1', id(1)]);
    expect((await s.listTranscript('c')).map((r) => [r.key, r.status ?? r.receipt])).toEqual([
      [id(4), 'sent'],
      ['agent-2', 'Delivered'],
    ]);
    // v4: the claim marks the attempts' start; the dead worker's heads are taken over, and the
    // one it had marked keeps its in-doubt time
    const now = Date.now();
    const c = await s.claimDue!({ limit: 10, now, sending: { inDoubtCodes: ['timeout'] } });
    expect(c.sending).toBe(true);
    expect(c.entries.map((e) => e.id).sort()).toEqual([id(1), id(5), id(7)]);
    expect(await s.get(id(1))).toMatchObject({
      status: 'sending',
      inDoubtSince: 1_700_000_050_000,
    });
    expect(await s.get(id(7))).toMatchObject({ status: 'sending', inDoubtSince: now });
    // a new entry goes behind the old ones (the sequence was kept)
    const [late] = await s.append([newEntry({ conversationId: 'a' })]);
    expect(late!.seq).toBeGreaterThan(7);
    await s.removeDelivered!(id(1), []);
    expect((await s.headOf!('a'))?.id).toBe(id(3));
    await s.close();
  });

  it('a syntax error ("unterminated …") is storage-failed; a session the server ended is storage-unreachable', async () => {
    // "unterminated quoted string" contains "terminated": it is a bug in a statement, not an
    // unreachable server (retrying it forever would never help).
    const syntax = await admin.query(`SELECT 'no end`).catch((e: unknown) => e);
    expect(String((syntax as Error).message)).toMatch(/unterminated/);
    expect(postgresError(syntax).code).toBe('storage-failed');
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    client.on('error', () => {});
    const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const running = client.query('SELECT pg_sleep(30)').catch((e: unknown) => e);
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    const broken = await running;
    expect(postgresError(broken).code).toBe('storage-unreachable');
    await client.end().catch(() => {});
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
    // The removal claimed x's next entry for a (a worker that claims gets its next head with
    // the removal): b does not get it, a's next claim answers it without a statement.
    expect((await b.claimDue!({ limit: 10, now })).entries).toEqual([]);
    const ca2 = await a.claimDue!({ limit: 1, now });
    expect(ca2.entries.map((e) => e.id)).toEqual([stored[1]!.id]);
    expect(ca2.sending).toBeUndefined(); // claimed as a asked the last time (no start mark)
    // given back (not attempted): free for anyone
    await a.releaseClaim!('x');
    const cb2 = await b.claimDue!({ limit: 10, now });
    expect(cb2.entries.map((e) => e.id)).toEqual([stored[1]!.id]);
    await Promise.all([a.close(), b.close()]);
  });

  it('a head the removal claimed for a worker that then claims no more is given back within a second', async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    const stored = await a.append([
      newEntry({ conversationId: 'x' }),
      newEntry({ conversationId: 'x' }),
    ]);
    const now = Date.now();
    const ca = await a.claimDue!({ limit: 1, now, sending: { inDoubtCodes: ['timeout'] } });
    expect(ca.entries.map((e) => e.id)).toEqual([stored[0]!.id]);
    await a.removeDelivered!(stored[0]!.id, []);
    // claimed for a with the attempt's start stored: 'sending' in the table for now
    expect((await b.get(stored[1]!.id))?.status).toBe('sending');
    expect((await b.claimDue!({ limit: 10, now: Date.now() })).entries).toEqual([]);
    // a never asks: the claim goes back as it was (pending, not in doubt), and b gets it
    const cb = await waitFor(
      async () => {
        const r = await b.claimDue!({ limit: 10, now: Date.now() });
        return r.entries.length > 0 ? r : undefined;
      },
      { what: 'the head given back', timeoutMs: 5000 },
    );
    expect(cb.entries.map((e) => [e.id, e.status, e.inDoubtSince])).toEqual([
      [stored[1]!.id, 'pending', undefined],
    ]);
    await Promise.all([a.close(), b.close()]);
  });

  it('close gives back a head the removal claimed and nobody asked for, as it was', async () => {
    const schema = freshSchema();
    const [a, b] = [await open(schema), await open(schema)];
    const stored = await a.append([
      newEntry({ conversationId: 'x' }),
      newEntry({ conversationId: 'x' }),
    ]);
    await a.claimDue!({ limit: 1, now: Date.now(), sending: { inDoubtCodes: ['timeout'] } });
    await a.removeDelivered!(stored[0]!.id, []);
    await a.close();
    const cb = await b.claimDue!({ limit: 10, now: Date.now() });
    expect(cb.entries.map((e) => [e.id, e.status, e.inDoubtSince])).toEqual([
      [stored[1]!.id, 'pending', undefined],
    ]);
    await b.close();
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

  it("a claim with `sending` stores the attempts' start in the same write; releaseClaim undoes it", async () => {
    const schema = freshSchema();
    const w = await open(schema);
    const [fresh, known, doubted] = await w.append([
      newEntry({ conversationId: 'f', createdAt: 1000 }),
      newEntry({ conversationId: 'k', createdAt: 2000, inDoubtSince: 2500 }),
      newEntry({
        conversationId: 'd',
        createdAt: 3000,
        lastError: { code: 'timeout', message: 'no answer' },
      }),
    ]);
    const now = Date.now();
    const c = await w.claimDue!({ limit: 10, now, sending: { inDoubtCodes: ['timeout'] } });
    expect(c.sending).toBe(true);
    // answered as they were (the caller tells an old in-doubt head from a fresh one)...
    expect(c.entries.map((e) => [e.id, e.status, e.inDoubtSince]).sort()).toEqual(
      [
        [fresh!.id, 'pending', undefined],
        [known!.id, 'pending', 2500],
        [doubted!.id, 'pending', undefined],
      ].sort(),
    );
    // ...and stored as the attempts' start
    expect(await w.get(fresh!.id)).toMatchObject({ status: 'sending', inDoubtSince: now });
    expect(await w.get(known!.id)).toMatchObject({ status: 'sending', inDoubtSince: 2500 });
    expect(await w.get(doubted!.id)).toMatchObject({ status: 'sending', inDoubtSince: 3000 });
    // one not attempted after all: back as it was, and due for anyone
    await w.releaseClaim!('f');
    expect(await w.get(fresh!.id)).toEqual(fresh);
    const again = await w.claimDue!({ limit: 10, now });
    expect(again.entries.map((e) => e.id)).toEqual([fresh!.id]);
    expect(again.sending).toBeUndefined();
    expect((await w.get(fresh!.id))?.status).toBe('pending'); // without the option: no mark
    await w.close();
  });

  it('wipe() empties the schema for every worker (entries, claims, transcript, meta), files included; other schemas untouched', async () => {
    const [schema, other] = [freshSchema(), freshSchema()];
    const [a, b] = [await open(schema), await open(schema)];
    const neighbour = await open(other);
    await neighbour.append([newEntry({ conversationId: 'n' })]);
    await neighbour.setMeta('sessionToken', 'neighbour-token');
    const stored = await a.append([
      newEntry({ conversationId: 'x' }),
      newEntry({ conversationId: 'x' }),
      newEntry({ conversationId: 'y' }),
    ]);
    await a.putTranscript([line('agent-1', 1, { conversationId: 'x', direction: 'Outbound' })]);
    await a.setMeta('sessionToken', 'visitor-token');
    // b holds a claim on x (a lease row) when a wipes
    const claimed = await b.claimDue!({ limit: 1, now: Date.now() });
    expect(claimed.entries.map((e) => e.id)).toEqual([stored[0]!.id]);

    await a.wipe!();
    expect(await rejectionCode(a.count())).toBe('closed');
    const rows = async (s: string, t: string): Promise<number> =>
      (await admin.query(`SELECT count(*)::int AS n FROM "${s}".${t}`)).rows[0].n as number;
    for (const t of ['entries', 'heads', 'transcript', 'meta']) {
      expect([t, await rows(schema, t)]).toEqual([t, 0]);
      // TRUNCATE: new, empty files (a DELETE leaves the old rows in the pages until vacuum)
      const size = await admin.query(`SELECT pg_relation_size($1) AS n`, [`"${schema}".${t}`]);
      expect([t, Number(size.rows[0].n)]).toEqual([t, 0]);
    }
    // the other worker's claim is gone with its entry: its verdict brings nothing back
    expect(await rejectionCode(b.update({ ...claimed.entries[0]!, status: 'failed' }))).toBe(
      'not-found',
    );
    expect((await b.claimDue!({ limit: 10, now: Date.now(), all: true })).entries).toEqual([]);
    expect(await b.getMeta('sessionToken')).toBeUndefined();
    // the schema still works, and seq keeps growing
    const [after] = await b.append([newEntry({ conversationId: 'x' })]);
    expect(after!.seq).toBeGreaterThan(stored[2]!.seq);
    expect(await rows(other, 'entries')).toBe(1);
    expect(await neighbour.getMeta('sessionToken')).toBe('neighbour-token');
    await Promise.all([b.close(), neighbour.close()]);
  });

  it('a worker whose in-flight head was taken over and delivered gives back the next head it claims (it was stuck "sending")', async () => {
    // Chaos tier pg, four workers on a loaded machine: a worker's renewals came late, another
    // worker took its lapsed lease over and delivered the head; the first, its request still in
    // flight, then claimed the conversation's next head, neither attempted it (the conversation
    // was in flight here) nor gave it back, and renewed its lease until it exited.
    const schema = freshSchema();
    const gated = new GatedTransport(4);
    const outbox = await createOutbox({
      transport: gated,
      store: postgresStore({ connectionString: cluster.url, schema, leaseMs: 60_000 }),
      logger: { debug() {}, warn() {}, error() {} },
      transcript: false,
    });
    const first = await outbox.send({ conversationId: 'x', text: 'x1' });
    const second = await outbox.send({ conversationId: 'x', text: 'x2' });
    await waitFor(() => gated.held.find((h) => h.entry.id === first.id), { what: 'x1 in flight' });
    // Another worker takes x1 over (as if the lease had lapsed: its `now` is past the lease)
    // and delivers it.
    const other = await open(schema);
    const taken = await other.claimDue!({ limit: 1, now: Date.now() + 120_000 });
    expect(taken.entries.map((e) => e.id)).toEqual([first.id]);
    await other.removeDelivered!(first.id, []);
    // Something wakes the first worker: it claims x2 while its x1 attempt is still in flight.
    await outbox.send({ conversationId: 'y', text: 'y1' });
    await waitFor(() => gated.held.some((h) => h.entry.text === 'y1'), { what: 'y1 in flight' });
    gated.held.find((h) => h.entry.text === 'y1')!.answer({ kind: 'delivered' });
    // x1's answer comes (delivered; the other worker had recorded it already).
    gated.held.find((h) => h.entry.id === first.id)!.answer({ kind: 'delivered' });
    // x2 is attempted (on the old code it stayed 'sending', claimed and renewed, never sent).
    const x2 = await waitFor(() => gated.held.find((h) => h.entry.id === second.id), {
      timeoutMs: 15_000,
      what: 'x2 attempted',
    });
    x2.answer({ kind: 'delivered' });
    expect((await outbox.whenSettled(second.id)).status).toBe('sent');
    await outbox.close();
    await other.close();
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

describe('postgresStore: setMetaIfAbsent from two workers at once', () => {
  it('one value wins and both answer it', async () => {
    const schema = `meta_race_${process.pid}`;
    const a = postgresStore({ connectionString: cluster.url, schema });
    const b = postgresStore({ connectionString: cluster.url, schema });
    await a.open();
    await b.open();
    try {
      for (let round = 0; round < 20; round++) {
        const [x, y] = await Promise.all([
          a.setMetaIfAbsent!(`k${round}`, `a${round}`),
          b.setMetaIfAbsent!(`k${round}`, `b${round}`),
        ]);
        expect(x).toBe(y);
        expect(await b.getMeta(`k${round}`)).toBe(x);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});
