// 5. The drain as conversations grow (Node, SQLite, an instant transport): 10,000 messages stored
// first, spread round-robin over 4, 1,000 and 10,000 conversations, then drained. The cost per
// delivery must not grow with the number of waiting conversations: the figure that matters is the
// throughput ratio 10,000-conv / 4-conv (target ≥ 0.8). BENCH_QUICK=1: 2,000 messages.
// Run alone: node bench/conversations.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileNode } from './lib/compile.mjs';
import { emit, round } from './lib/stats.mjs';

const quick = process.env.BENCH_QUICK === '1';
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? (quick ? 2000 : 10_000));
const SHAPES = (process.env.BENCH_CONVERSATIONS ?? `4,1000,${MESSAGES}`).split(',').map(Number);
const lib = await import(await compileNode());
const dir = mkdtempSync(join(tmpdir(), 'outbox-convs-'));

/** Delivers at once; counts deliveries and checks FIFO per conversation. */
function instantTransport() {
  const last = new Map();
  const t = {
    name: 'instant',
    concurrency: 4,
    delivered: 0,
    reordered: 0,
    async send(entry) {
      const n = Number(entry.metadata.n);
      if ((last.get(entry.conversationId) ?? -1) > n) t.reordered++;
      last.set(entry.conversationId, n);
      t.delivered++;
      return { kind: 'delivered' };
    },
  };
  return t;
}

async function drain(conversations, i) {
  const path = join(dir, `c${conversations}-${i}.sqlite`);
  // Seed the queue with no sender running (the state after an outage or a restart).
  const seed = lib.sqliteStore({ path });
  const batch = [];
  for (let n = 0; n < MESSAGES; n++) {
    batch.push({
      id: crypto.randomUUID(),
      conversationId: `conv-${n % conversations}`,
      text: 'x'.repeat(200),
      metadata: { n: String(n) },
      status: 'pending',
      attempts: 0,
      createdAt: Date.now(),
    });
  }
  await seed.append(batch);
  await seed.close();

  const transport = instantTransport();
  const t0 = performance.now();
  const outbox = await lib.createOutbox({
    transport,
    store: lib.sqliteStore({ path }),
  });
  // Opening wakes the sender; nothing else is asked of the outbox until the queue is empty.
  while (transport.delivered < MESSAGES) await new Promise((r) => setTimeout(r, 5));
  await outbox.flush();
  const ms = performance.now() - t0;
  const left = (await outbox.list()).length;
  await outbox.close();
  return {
    conversations,
    ms: round(ms, 0),
    perSecond: round((MESSAGES * 1000) / ms, 0),
    delivered: transport.delivered,
    reordered: transport.reordered,
    left,
  };
}

const result = { messages: MESSAGES, shapes: {} };
for (const c of SHAPES) {
  result.shapes[c] = await drain(c, 0);
  process.stderr.write(`  ${c} conversations: ${JSON.stringify(result.shapes[c])}\n`);
}
const small = result.shapes[SHAPES[0]];
const large = result.shapes[SHAPES[SHAPES.length - 1]];
result.ratio = round(large.perSecond / small.perSecond, 2);
rmSync(dir, { recursive: true, force: true });
await emit(result);
