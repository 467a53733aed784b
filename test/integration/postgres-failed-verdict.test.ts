// A worker whose write of an attempt's verdict fails (the pool lost its connection, the server
// refused one more client: "sorry, too many clients already") must not keep the conversation's
// claim. It did: the claim stayed in the worker's renewal set, its lease was renewed for as long
// as the process lived, and the head stood `sending` with 0 attempts while no worker (this one
// included) could claim it: the conversation was stuck for good. The same picture as the stuck
// chaos seeds pg/http 1000, 1004, 1030 and pg/open 1001 (many workers on one cluster, whose
// writes after a claim were missing). Now the claim is let go: its lease runs out and the head is
// claimed again, in doubt (it may have gone out), and resent with its key.
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

describe('postgresStore claims: a verdict that could not be written', () => {
  for (const failing of ['removeDelivered', 'update'] as const) {
    it(`${failing} failing once: the claim is let go and the head is claimed and sent again`, async () => {
      const pool = new pg.Pool({ connectionString: cluster.url });
      /** Filled in below; read by the hook. */
      const at: { firstId?: string } = {};
      let failed = false;
      // The pool refuses the one statement that writes the first entry's verdict, as a server
      // that has no connection left for it would: the delivery's removal, or a retry's update.
      const query = pool.query.bind(pool) as (sql: string, params?: unknown[]) => Promise<unknown>;
      (pool as unknown as { query: typeof query }).query = (sql, params) => {
        // The first entry's id is known only once its send() resolved; on a loaded machine its
        // attempt may have been answered before that (the failure then never happened). Until
        // then, the first such statement is the first entry's: it is the only one attempted.
        const isFirst = (id: unknown) => at.firstId === undefined || id === at.firstId;
        const verdict =
          failing === 'removeDelivered'
            ? /remove_(queued|and_claim)\(/.test(sql) && isFirst(params?.[0])
            : sql.includes('update_entry') &&
              isFirst(params?.[0]) &&
              String(params?.[1]).includes('"status":"pending"');
        if (verdict && !failed) {
          failed = true;
          return Promise.reject(
            Object.assign(new Error('sorry, too many clients already'), { code: '53300' }),
          );
        }
        return query(sql, params);
      };
      const store = postgresStore({
        pool: pool as never,
        schema: `failed_verdict_${failing.toLowerCase()}_${process.pid}`,
        leaseMs: 600,
      });
      // 'update': the first attempt asks for a retry (written by update), the next delivers.
      const transport = new ScriptedTransport((_entry, n) =>
        failing === 'update' && n === 1
          ? { kind: 'retry', error: { code: 'server-error', message: '503' } }
          : { kind: 'delivered' },
      );
      const outbox = await createOutbox({
        transport,
        store,
        logger: silentLogger,
        retry: { baseDelayMs: 10, maxDelayMs: 20 },
      });
      const first = await outbox.send({ text: 'one', conversationId: 'c1' });
      at.firstId = first.id;
      const second = await outbox.send({ text: 'two', conversationId: 'c1' });
      await waitFor(async () => (await outbox.list()).length === 0, {
        what: 'both delivered and removed',
        timeoutMs: 20_000,
      });
      expect(failed).toBe(true);
      const ids = transport.delivered.map((e) => e.id);
      // The first again (in doubt, same key), then the second: never the second before it.
      expect(ids.at(-1)).toBe(second.id);
      expect(ids.filter((id) => id === second.id)).toHaveLength(1);
      expect(ids.indexOf(second.id)).toBeGreaterThan(ids.lastIndexOf(first.id));
      await outbox.close();
      await pool.end();
    });
  }
});
