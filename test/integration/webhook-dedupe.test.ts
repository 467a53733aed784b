// openMessagingWebhook's de-duplication is durable: it lives in the outbox's store (the
// transcript line keyed by the message id, with its hand-off mark), not in one handler's memory.
// Two handlers on one store (two worker processes behind a load balancer: each its own outbox and
// store instance on one SQLite file or one PostgreSQL schema), a restart, and a handler that dies
// while onMessage runs (the crash window between recording and handing on).
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createOutbox, type Outbox } from '../../src/outbox/createOutbox.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import { postgresStore } from '../../src/store/postgres.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import {
  openMessagingSignature,
  openMessagingWebhook,
  type OpenMessagingWebhookMessage,
  type OpenMessagingWebhookOptions,
} from '../../src/webhook/openMessagingWebhook.js';
import { silentLogger } from '../../src/internal/logger.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
import { startPostgres } from '../helpers/postgres.js';

const SECRET = 'dedupe-secret';
const dir = mkdtempSync(join(tmpdir(), 'outbox-webhook-'));
const cluster = await startPostgres();
afterAll(() => {
  cluster.stop();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** Opens a new store instance on the same storage each time it is called. */
const backends: [string, () => () => OutboxStore][] = [
  [
    'sqlite',
    () => {
      const path = join(dir, `hook-${++n}.db`);
      return () => sqliteStore({ path });
    },
  ],
  [
    'postgres',
    () => {
      const schema = `hook_${process.pid}_${++n}`;
      return () => postgresStore({ connectionString: cluster.url, schema });
    },
  ],
];

/** A worker: its own outbox on its own store instance, and the webhook behind an HTTP server. */
interface Worker {
  outbox: Outbox;
  handed: OpenMessagingWebhookMessage[];
  post(message: object): Promise<number>;
  close(): Promise<void>;
}

async function worker(
  store: OutboxStore,
  onMessage: (m: OpenMessagingWebhookMessage) => void | Promise<void> = () => {},
  options: Partial<OpenMessagingWebhookOptions> = {},
): Promise<Worker> {
  const outbox = await createOutbox({
    transport: new ScriptedTransport(),
    store,
    logger: silentLogger,
  });
  const handed: OpenMessagingWebhookMessage[] = [];
  const server: Server = createServer(
    openMessagingWebhook({
      secret: SECRET,
      outbox,
      onMessage: async (m) => {
        handed.push(m);
        await onMessage(m);
      },
      ...options,
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  return {
    outbox,
    handed,
    async post(message) {
      const body = JSON.stringify(message);
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hub-signature-256': openMessagingSignature(SECRET, body),
        },
        body,
      });
      await res.text();
      return res.status;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await outbox.close();
    },
  };
}

const agentMessage = (id: string, customer: string, text: string) => ({
  id,
  type: 'Text',
  text,
  direction: 'Outbound',
  originatingEntity: 'Human',
  channel: { to: { id: customer }, time: '2026-01-02T03:04:05.000Z', messageId: id },
});

const receipt = (id: string, customer: string, status: string) => ({
  id,
  type: 'Receipt',
  status,
  direction: 'Outbound',
  channel: { to: { id: customer }, time: '2026-01-02T03:04:06.000Z', messageId: id },
});

const linesOf = async (outbox: Outbox, customer: string, id: string) =>
  (await outbox.transcript.list(customer)).filter((l) => l.key === id);

describe.each(backends)('openMessagingWebhook de-duplication on %s', (_name, storage) => {
  it('two workers given the same message (a Genesys retry to the other one): one line, one hand-on', async () => {
    const open = storage();
    const [a, b] = [await worker(open()), await worker(open())];
    const m = agentMessage('agent-msg-1', 'cust-a', 'hello from the agent');
    expect(await a.post(m)).toBe(200);
    expect(await b.post(m)).toBe(200); // the retry went to the other worker
    expect([...a.handed, ...b.handed].map((x) => x.id)).toEqual(['agent-msg-1']);
    expect(await linesOf(b.outbox, 'cust-a', 'agent-msg-1')).toHaveLength(1);
    expect((await linesOf(a.outbox, 'cust-a', 'agent-msg-1'))[0]).toMatchObject({
      text: 'hello from the agent',
      direction: 'Outbound',
      handoff: { state: 'done' },
    });
    await Promise.all([a.close(), b.close()]);
  });

  it('the same message to two workers at once: handed on once; the other answers 503 or 200', async () => {
    const open = storage();
    const [a, b] = [await worker(open()), await worker(open())];
    for (let i = 0; i < 10; i++) {
      const m = agentMessage(`burst-${i}`, 'cust-b', `line ${i}`);
      const statuses = await Promise.all([a.post(m), b.post(m)]);
      expect(statuses).toContain(200);
      for (const s of statuses) expect([200, 503]).toContain(s);
    }
    const handed = [...a.handed, ...b.handed].map((x) => x.id).sort();
    expect(handed).toEqual(Array.from({ length: 10 }, (_, i) => `burst-${i}`).sort());
    expect((await a.outbox.transcript.list('cust-b')).map((l) => l.key).sort()).toEqual(handed);
    await Promise.all([a.close(), b.close()]);
  });

  it('after a restart, a late retry of a handed-on message records nothing and is not handed on', async () => {
    const open = storage();
    const first = await worker(open());
    const m = agentMessage('agent-msg-2', 'cust-c', 'before the restart');
    expect(await first.post(m)).toBe(200);
    await first.close();
    const second = await worker(open());
    expect(await second.post(m)).toBe(200);
    expect(second.handed).toEqual([]);
    expect(await linesOf(second.outbox, 'cust-c', 'agent-msg-2')).toHaveLength(1);
    await second.close();
  });

  it('a worker that dies while onMessage runs: retries get 503, then one after handoffTimeoutMs hands it on', async () => {
    const open = storage();
    const m = agentMessage('agent-msg-3', 'cust-d', 'handed on twice at most');
    // The first worker records the line and never finishes onMessage (it "dies" there).
    let started!: () => void;
    const inOnMessage = new Promise<void>((r) => (started = r));
    const dying = await worker(open(), () => {
      started();
      return new Promise<void>(() => {});
    });
    const lost = dying.post(m).catch(() => 0);
    await inOnMessage;
    // A retry while the hand-off may still be running: 503, Genesys tries again later.
    const patient = await worker(open(), undefined, { handoffTimeoutMs: 3_600_000 });
    expect(await patient.post(m)).toBe(503);
    expect(patient.handed).toEqual([]);
    await patient.close();
    // A retry after handoffTimeoutMs (0 here: any earlier start is stale) takes it over.
    const since = (await linesOf(dying.outbox, 'cust-d', 'agent-msg-3'))[0]?.handoff?.since;
    expect(since).toBeTypeOf('number');
    while (Date.now() <= (since as number)) await new Promise((r) => setTimeout(r, 1));
    const taker = await worker(open(), undefined, { handoffTimeoutMs: 0 });
    expect(await taker.post(m)).toBe(200);
    expect(taker.handed.map((x) => x.id)).toEqual(['agent-msg-3']);
    expect(await linesOf(taker.outbox, 'cust-d', 'agent-msg-3')).toEqual([
      expect.objectContaining({
        text: 'handed on twice at most',
        handoff: expect.objectContaining({ state: 'done' }),
      }),
    ]);
    // and once done, no one takes it over again
    const late = await worker(open(), undefined, { handoffTimeoutMs: 0 });
    expect(await late.post(m)).toBe(200);
    expect(late.handed).toEqual([]);
    await Promise.all([taker.close(), late.close()]);
    await dying.close();
    await lost;
  });

  it('onMessage failing in one worker: 500, and the retry in another worker hands it on at once', async () => {
    const open = storage();
    const failing = await worker(open(), () => {
      throw new Error('downstream not ready');
    });
    const m = agentMessage('agent-msg-4', 'cust-e', 'try again');
    expect(await failing.post(m)).toBe(500);
    const other = await worker(open(), undefined, { handoffTimeoutMs: 3_600_000 });
    expect(await other.post(m)).toBe(200);
    expect(other.handed.map((x) => x.id)).toEqual(['agent-msg-4']);
    expect(await linesOf(other.outbox, 'cust-e', 'agent-msg-4')).toHaveLength(1);
    await Promise.all([failing.close(), other.close()]);
  });

  it('receipts: a retry to another worker or after a restart is not handed on again; a late retry of an older status does not bring it back', async () => {
    const open = storage();
    const a = await worker(open());
    const b = await worker(open());
    expect(await a.post(agentMessage('agent-msg-5', 'cust-f', 'did you get it?'))).toBe(200);
    const delivered = receipt('agent-msg-5', 'cust-f', 'Delivered');
    expect(await a.post(delivered)).toBe(200);
    expect((await linesOf(a.outbox, 'cust-f', 'agent-msg-5'))[0]?.receipt).toBe('Delivered');
    // Genesys retries it to the other worker: recorded already, not handed on again
    expect(await b.post(delivered)).toBe(200);
    // after a restart of the first worker, the same
    await a.close();
    const restarted = await worker(open());
    expect(await restarted.post(delivered)).toBe(200);
    const receipts = (w: Worker) => w.handed.filter((m) => m.type === 'Receipt');
    expect([...receipts(a), ...receipts(b), ...receipts(restarted)]).toHaveLength(1);
    // a new status is recorded and handed on once
    const failed = receipt('agent-msg-5', 'cust-f', 'Failed');
    expect(await b.post(failed)).toBe(200);
    expect(await restarted.post(failed)).toBe(200);
    expect([...receipts(b), ...receipts(restarted)].map((m) => m.status)).toEqual(['Failed']);
    // a late retry of the older receipt (to a worker that never saw it): the line keeps Failed
    const c = await worker(open());
    expect(await c.post(delivered)).toBe(200);
    expect(receipts(c)).toEqual([]);
    expect((await linesOf(c.outbox, 'cust-f', 'agent-msg-5'))[0]?.receipt).toBe('Failed');
    // the transcript of the conversation holds the agent's line only
    expect((await c.outbox.transcript.list('cust-f')).map((l) => l.key)).toEqual(['agent-msg-5']);
    await Promise.all([b.close(), restarted.close(), c.close()]);
  });
});
