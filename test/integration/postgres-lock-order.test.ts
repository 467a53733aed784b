// Row-lock order between an append and a worker's multi-row writes on `heads`. An append locks
// the head row of every conversation its batch touches; a worker's lease renewal and its close()
// lock every head it holds. When the two took the rows in different orders, PostgreSQL broke the
// cycle by failing one of them with 40P01 (deadlock detected): seen in CI as a producer's
// append() rejecting with storage-failed (a visitor's send() failing on a healthy database),
// then its batch redelivered by the retrying test. Both now lock in conversation_id order, and a
// transient 40P01/40001 is retried.
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { postgresStore } from '../../src/store/postgres.js';
import type { NewEntry } from '../../src/outbox/entry.js';
import { startPostgres } from '../helpers/postgres.js';
import { prng } from '../helpers/prng.js';

const cluster = await startPostgres();
afterAll(() => cluster.stop());

const entry = (conversationId: string, i: number): NewEntry => ({
  id: crypto.randomUUID(),
  conversationId,
  text: `message ${i}`,
  status: 'pending',
  attempts: 0,
  createdAt: Date.now(),
});

describe('postgresStore: appends beside a worker that holds many heads', () => {
  it.each([1, 2, 3])(
    'seed %i: shuffled multi-conversation appends never fail while the leases renew and the worker closes',
    async (seed) => {
      const r = prng(seed);
      const schema = `lock_order_${process.pid}_${seed}`;
      const conversations = Array.from({ length: 40 }, (_, i) => `c${String(i).padStart(2, '0')}`);
      const producer = postgresStore({ connectionString: cluster.url, schema });
      await producer.open();
      await producer.append(conversations.map((c, i) => entry(c, i)));

      const failures: unknown[] = [];
      let appended = conversations.length;
      for (let round = 0; round < 3; round++) {
        // A worker that claims every head and holds them: renewed every 50 ms.
        const worker = postgresStore({ connectionString: cluster.url, schema, leaseMs: 150 });
        const claim = await worker.claimDue!({ limit: conversations.length, now: Date.now() });
        expect(claim.entries.length).toBeGreaterThan(0);
        const until = Date.now() + 700;
        const producing = Array.from({ length: 3 }, async () => {
          while (Date.now() < until) {
            const order = [...conversations];
            for (let i = order.length - 1; i > 0; i--) {
              const j = r.int(0, i);
              [order[i], order[j]] = [order[j]!, order[i]!];
            }
            const batch = order.slice(0, r.int(10, order.length)).map((c) => entry(c, appended++));
            await producer.append(batch).catch((e: unknown) => failures.push(e));
          }
        });
        await Promise.all(producing);
        // close() hands every held head back in one statement, beside more appends.
        const closing = worker.close();
        const order = [...conversations].reverse();
        await Promise.all([
          closing,
          producer.append(order.map((c) => entry(c, appended++))).catch((e) => failures.push(e)),
        ]);
      }
      const codes = failures.map((e) => {
        const x = e as { code?: string; cause?: { code?: string } };
        return `${x.code}:${x.cause?.code}`;
      });
      expect(codes).toEqual([]);
      expect(await producer.count()).toBe(appended);
      await producer.close();
    },
    60_000,
  );
});

describe('postgresStore: a statement chosen as a deadlock victim', () => {
  it('runs again: the append resolves once the other transaction commits', async () => {
    const schema = `lock_victim_${process.pid}`;
    const producer = postgresStore({ connectionString: cluster.url, schema });
    await producer.append([entry('a', 0), entry('b', 1)]);
    const other = new pg.Client({ connectionString: cluster.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT 1 FROM "${schema}".heads WHERE conversation_id = 'b' FOR UPDATE`);
      // The append locks head a, then waits for b.
      const appending = producer.append([entry('a', 2), entry('b', 3)]);
      // Until the append waits on a row lock (a sleep would not tell on a loaded machine).
      for (;;) {
        const { rows } = await other.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND datname = current_database()`,
        );
        if ((rows[0] as { n: number }).n > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      // Now this waits for a: a cycle. The append waited longest; its backend finds the cycle
      // (deadlock_timeout, 1 s) and fails it with 40P01, which lets go of a, so this lock is
      // granted: proof that the deadlock happened.
      await other.query(`SELECT 1 FROM "${schema}".heads WHERE conversation_id = 'a' FOR UPDATE`);
      await other.query('COMMIT');
      const stored = await appending;
      expect(stored.map((e) => e.text)).toEqual(['message 2', 'message 3']);
      expect(await producer.count()).toBe(4);
    } finally {
      await other.end();
      await producer.close();
    }
  }, 30_000);
});
