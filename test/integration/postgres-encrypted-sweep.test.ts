// Turning encryption on for a PostgreSQL schema that held plaintext: the background sweep seals
// the transcript lines of conversations nobody lists and the meta values (through the store's
// sweep()), so no row read with plain SQL is readable any more.
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import { postgresStore } from '../../src/store/postgres.js';
import { silentLogger } from '../../src/internal/logger.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
import { startPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/waitFor.js';
import { line, newEntry } from '../unit/store-contract.js';

const cluster = await startPostgres();
const admin = new pg.Pool({ connectionString: cluster.url, max: 2 });
afterAll(async () => {
  await admin.end();
  cluster.stop();
});

describe('postgresStore: encryption turned on for a schema that held plaintext', () => {
  it('every line (also of conversations never listed) and meta value is sealed in the tables', async () => {
    const schema = `enc_sweep_${process.pid}`;
    const plain = postgresStore({ connectionString: cluster.url, schema });
    await plain.open();
    await plain.putTranscript(
      Array.from({ length: 230 }, (_, i) =>
        line(`k${String(i).padStart(3, '0')}`, i + 1, {
          conversationId: `never-listed-${i % 3}`,
          text: `old line ${i} DE44 5001`,
        }),
      ),
    );
    await plain.setMeta('app.note', 'meta DE44 5001');
    await plain.close();
    const rows = async (): Promise<string> =>
      JSON.stringify([
        (await admin.query(`SELECT data::text AS d FROM "${schema}".transcript`)).rows,
        (await admin.query(`SELECT value::text AS v FROM "${schema}".meta`)).rows,
      ]);
    expect(await rows()).toContain('DE44');

    const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
      'encrypt',
      'decrypt',
    ]);
    const outbox = await createOutbox({
      transport: new ScriptedTransport(),
      store: postgresStore({ connectionString: cluster.url, schema }),
      encryption: { key },
      logger: silentLogger,
    });
    await waitFor(async () => !(await rows()).includes('DE44'), {
      what: 'no plaintext in the tables',
    });
    const lines = await outbox.transcript.list('never-listed-1');
    expect(lines.length).toBe(77);
    expect(lines[0]?.text).toBe('old line 1 DE44 5001');
    await outbox.close();
  });
});

describe('postgresStore({ compactAfterSweep }): the table files after the sweep', () => {
  /** Occurrences of `needle` in the heap files of the schema's tables (after a CHECKPOINT). */
  async function inFiles(schema: string, needle: string): Promise<Record<string, number>> {
    await admin.query('CHECKPOINT');
    const out: Record<string, number> = {};
    for (const t of ['transcript', 'meta', 'entries']) {
      const { rows } = await admin.query<{ b: Buffer }>(
        `SELECT pg_read_binary_file(pg_relation_filepath($1)) AS b`,
        [`"${schema}".${t}`],
      );
      out[t] = rows[0]!.b.toString('latin1').split(needle).length - 1;
    }
    return out;
  }

  async function sweepSchema(schema: string, compactAfterSweep: boolean) {
    const plain = postgresStore({ connectionString: cluster.url, schema });
    await plain.open();
    await plain.append([newEntry({ conversationId: 'c0', text: 'queued IBAN DE44 5001' })]);
    await plain.putTranscript(
      Array.from({ length: 230 }, (_, i) =>
        line(`k${String(i).padStart(3, '0')}`, i + 1, {
          conversationId: `c${i % 3}`,
          text: `old line ${i} IBAN DE44 5001`,
        }),
      ),
    );
    await plain.setMeta('app.note', 'meta IBAN DE44 5001');
    await plain.close();
    expect(await inFiles(schema, 'DE44 5001')).toEqual({ transcript: 230, meta: 1, entries: 1 });
    const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
      'encrypt',
      'decrypt',
    ]);
    const outbox = await createOutbox({
      transport: new ScriptedTransport(() => ({
        kind: 'retry',
        error: { code: 'network', message: 'x' },
      })),
      store: postgresStore({ connectionString: cluster.url, schema, compactAfterSweep }),
      encryption: { key },
      logger: silentLogger,
      retry: { baseDelayMs: 60_000 },
    });
    // The sweep is over once it has stored `swept` (after compacting, when it does).
    await waitFor(
      async () =>
        (
          await admin.query(
            `SELECT value->>'swept' AS s FROM "${schema}".meta WHERE key = 'encryption'`,
          )
        ).rows[0]?.s === 'true',
      { what: 'the sweep finished' },
    );
    expect((await outbox.list())[0]?.text).toBe('queued IBAN DE44 5001');
    return outbox;
  }

  it('with it: VACUUM FULL leaves no plaintext in the files of transcript, meta and entries', async () => {
    const schema = `enc_compact_${process.pid}`;
    const outbox = await sweepSchema(schema, true);
    expect(await inFiles(schema, 'DE44 5001')).toEqual({ transcript: 0, meta: 0, entries: 0 });
    expect((await outbox.transcript.list('c1')).length).toBe(77);
    await outbox.close();
  });

  it('without it (the default): the old row versions stay in the files, as docs/postgres.md says', async () => {
    const schema = `enc_nocompact_${process.pid}`;
    const outbox = await sweepSchema(schema, false);
    await admin.query(`VACUUM "${schema}".transcript, "${schema}".meta, "${schema}".entries`);
    const left = await inFiles(schema, 'DE44 5001');
    // Plain VACUUM marks the space reusable without overwriting it.
    expect(left.transcript).toBeGreaterThan(0);
    await outbox.close();
  });

  it('compactAfterSweep must be a boolean', () => {
    expect(() =>
      postgresStore({
        connectionString: cluster.url,
        compactAfterSweep: 'yes' as unknown as boolean,
      }),
    ).toThrow(expect.objectContaining({ code: 'invalid-options' }));
  });
});
