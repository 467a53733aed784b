// Statements per delivery on PostgreSQL, counted (never timed) through a pool that sees every
// query: the CPU a delivery costs the worker and the server follows the round trips (issue 13's
// benchmark: 1.8 per delivery before the removal answered the next claim). A delivery should
// cost ONE statement: the removal with its transcript line, which also claims the worker's next
// head (no claim statement of its own while the queue is busy).
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { silentLogger } from '../../src/internal/logger.js';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import { postgresStore } from '../../src/store/postgres.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
import { startPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/waitFor.js';

const cluster = await startPostgres();
afterAll(() => cluster.stop());

/** A pool that counts the statements it runs, by the outbox function they call. */
function countingPool(): { pool: pg.Pool; counts: Map<string, number>; reset(): void } {
  const pool = new pg.Pool({ connectionString: cluster.url });
  const counts = new Map<string, number>();
  const query = pool.query.bind(pool) as (sql: string, params?: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: typeof query }).query = (sql, params) => {
    const name = /\.(\w+)\(/.exec(sql)?.[1] ?? sql.trim().split(/\s+/, 2).join(' ');
    counts.set(name, (counts.get(name) ?? 0) + 1);
    return query(sql, params);
  };
  return { pool, counts, reset: () => counts.clear() };
}

describe('postgresStore: statements per delivery', () => {
  it('a busy queue is drained with one statement per delivered message (removal + next claim)', async () => {
    const { pool, counts, reset } = countingPool();
    const store = postgresStore({
      pool: pool as never,
      schema: `statements_${process.pid}`,
      leaseMs: 120_000, // no renewal during the test
    });
    const transport = new ScriptedTransport();
    let open!: () => void;
    transport.gate = new Promise<void>((r) => (open = r));
    const outbox = await createOutbox({ transport, store, logger: silentLogger });
    const n = 200;
    const sent = [];
    for (let i = 0; i < n; i++) {
      sent.push(await outbox.send({ text: `m${i}`, conversationId: `c${i % 40}` }));
    }
    reset();
    open();
    await waitFor(() => transport.delivered.length >= n, {
      what: 'all delivered',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await outbox.list()).length === 0, { what: 'all removed' });
    const total = [...counts.entries()]
      .filter(([name]) => name !== 'SELECT id,' && !name.startsWith('SELECT id'))
      .reduce((a, [, c]) => a + c, 0);
    const perDelivery = (total - 1) / n; // the list() above is one of them
    // Per conversation in send order, each message once.
    const byConversation = new Map<string, string[]>();
    for (const e of transport.delivered) {
      byConversation.set(e.conversationId, [...(byConversation.get(e.conversationId) ?? []), e.id]);
    }
    for (const [c, ids] of byConversation) {
      expect(ids).toEqual(sent.filter((s) => s.conversationId === c).map((s) => s.id));
    }
    expect(Object.fromEntries(counts)).toMatchObject({ remove_and_claim: n });
    expect(perDelivery, JSON.stringify(Object.fromEntries(counts))).toBeLessThanOrEqual(1.1);
    await outbox.close();
    await pool.end();
  });
});
