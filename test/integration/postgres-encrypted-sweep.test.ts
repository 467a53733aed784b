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
import { line } from '../unit/store-contract.js';

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
