// postgresStore under `encryption` (createOutbox({ encryption: { key } })): the wrapper must hand
// the store's claims (claimDue, releaseClaim), head reads (headOf) and wake-ups (watch) through,
// or two workers on one schema would send the same heads (the outbox falls back to heads() per
// pass, with no claim) and an idle worker would never hear of new work (no polling). Nothing a
// customer wrote is readable in the tables.
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createOutbox, type Outbox } from '../../src/outbox/createOutbox.js';
import { postgresStore } from '../../src/store/postgres.js';
import { encryptedStore } from '../../src/store/encryptedStore.js';
import { silentLogger } from '../../src/internal/logger.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
import { startPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/waitFor.js';
import { newEntry } from '../unit/store-contract.js';

const cluster = await startPostgres();
const admin = new pg.Pool({ connectionString: cluster.url, max: 2 });
afterAll(async () => {
  await admin.end();
  cluster.stop();
});

const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
  'encrypt',
  'decrypt',
]);
const SECRET = 'my iban is DE44 5001 0517 5407 3249 31';

async function worker(schema: string, transport: ScriptedTransport): Promise<Outbox> {
  return createOutbox({
    transport,
    store: postgresStore({ connectionString: cluster.url, schema, leaseMs: 60_000 }),
    encryption: { key },
    logger: silentLogger,
  });
}

/** A transport whose attempts wait until `open()` is called. */
function gated(concurrency: number, log: string[]): ScriptedTransport & { open(): void } {
  let release!: () => void;
  const t = new ScriptedTransport((entry) => {
    log.push(entry.id); // one log for both workers: the attempts' order across them
    return { kind: 'delivered' };
  }, concurrency) as ScriptedTransport & { open(): void };
  t.gate = new Promise<void>((r) => (release = r));
  t.open = () => release();
  return t;
}

describe('postgresStore under encryption, several workers', () => {
  it('two encrypted workers claim different heads, deliver each entry once and in order; nothing readable at rest', async () => {
    const schema = `enc_claims_${process.pid}`;
    const log: string[] = [];
    const [ta, tb] = [gated(4, log), gated(4, log)];
    const [a, b] = [await worker(schema, ta), await worker(schema, tb)];
    // 8 conversations × 3 messages, sent through a (b is woken by NOTIFY)
    const sent = [];
    for (let i = 0; i < 24; i++) {
      sent.push(
        await a.send({
          text: `${SECRET} #${i}`,
          conversationId: `c${i % 8}`,
          metadata: { i: `${i}` },
        }),
      );
    }
    // Both workers fill their 4 slots, all waiting on their gates: with claims, 8 different heads.
    await waitFor(() => ta.calls.length + tb.calls.length >= 8, {
      what: 'both workers attempting',
    });
    const inFlight = [...ta.calls, ...tb.calls].map((c) => c.entry.conversationId);
    expect(inFlight.sort()).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
    expect(ta.calls.length).toBe(4);
    expect(tb.calls.length).toBe(4);
    // what a claim marked (sending) is sealed like the rest
    const raw = await admin.query(`SELECT data::text AS d FROM "${schema}".entries`);
    expect(raw.rows.length).toBe(24);
    for (const r of raw.rows as { d: string }[]) {
      expect(r.d).not.toContain('DE44');
      expect(r.d).not.toContain('"i"');
    }
    ta.open();
    tb.open();
    // (whenSettled would not do: a does not hear of what b delivered, the entry is just gone)
    await waitFor(() => ta.delivered.length + tb.delivered.length >= 24, { what: 'all delivered' });
    await waitFor(async () => (await a.list()).length === 0, { what: 'the outbox empty' });
    const delivered = [...ta.delivered, ...tb.delivered];
    expect(delivered.map((e) => e.id).sort()).toEqual(sent.map((e) => e.id).sort());
    expect(delivered[0]?.text).toMatch(/^my iban/); // the transport gets the text in clear
    // FIFO per conversation across the two workers: attempts of a conversation in send order
    expect(log.length).toBe(24);
    for (let c = 0; c < 8; c++) {
      const mine = sent.filter((e) => e.conversationId === `c${c}`).map((e) => e.id);
      expect(log.filter((id) => mine.includes(id))).toEqual(mine);
    }
    const lines = await admin.query(`SELECT data::text AS d FROM "${schema}".transcript`);
    expect(lines.rows.length).toBe(24);
    for (const r of lines.rows as { d: string }[]) expect(r.d).not.toContain('DE44');
    await Promise.all([a.close(), b.close()]);
  });

  it('store level: an encrypted claim marks the head sending, releaseClaim gives it back sealed as before, headOf opens it', async () => {
    const schema = `enc_release_${process.pid}`;
    const open = async () => {
      const s = encryptedStore(
        postgresStore({ connectionString: cluster.url, schema, leaseMs: 60_000 }),
        { key },
      );
      await s.open();
      return s;
    };
    const [a, b] = [await open(), await open()];
    const [e] = await a.append([newEntry({ conversationId: 'r', text: SECRET })]);
    const sealed = async () =>
      (await admin.query(`SELECT data FROM "${schema}".entries`)).rows[0].data as {
        text: string;
        status: string;
      };
    const before = await sealed();
    expect(before.text).not.toContain('DE44');
    const c = await a.claimDue!({ limit: 5, now: Date.now(), sending: { inDoubtCodes: [] } });
    expect(c.entries.map((x) => [x.id, x.text])).toEqual([[e!.id, SECRET]]);
    expect((await sealed()).status).toBe('sending');
    expect((await b.claimDue!({ limit: 5, now: Date.now() })).entries).toEqual([]);
    // not attempted after all: back as it was (still sealed), and at once due for b
    await a.releaseClaim!('r');
    expect(await sealed()).toEqual(before);
    expect((await b.headOf!('r'))?.text).toBe(SECRET);
    const taken = await b.claimDue!({ limit: 5, now: Date.now() });
    expect(taken.entries.map((x) => [x.id, x.text])).toEqual([[e!.id, SECRET]]);
    await Promise.all([a.close(), b.close()]);
  });

  it('an idle encrypted worker is woken by another process storing work (watch) and delivers it', async () => {
    const schema = `enc_watch_${process.pid}`;
    const t = new ScriptedTransport();
    const idle = await worker(schema, t);
    await idle.flush();
    // Another process (here: a bare encrypted store on the same schema, no outbox) stores work.
    const producer = encryptedStore(postgresStore({ connectionString: cluster.url, schema }), {
      key,
    });
    await producer.open();
    const [e] = await producer.append([
      newEntry({ conversationId: 'w', text: SECRET, createdAt: Date.now() }),
    ]);
    await waitFor(() => t.delivered.some((d) => d.id === e!.id), {
      what: 'the idle worker delivers what another process stored',
    });
    expect(t.delivered.find((d) => d.id === e!.id)?.text).toBe(SECRET);
    await waitFor(async () => (await producer.get(e!.id)) === undefined, { what: 'removed' });
    await producer.close();
    await idle.close();
  });
});
