// Diagnostic (not part of `npm run bench`): 1,000 messages over 10 conversations through the
// HTTP transport to the simulator (20 ms latency), all stored before the first attempt. Prints
// the drain rate, how many of the transport's slots were busy on average (fetch time summed over
// wall time), and the time spent in each store call (await included). `MEM=1` uses the memory
// store instead of SQLite, to see what storage costs. Run: node bench/diagnostics/drain-slots.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileNode } from '../lib/compile.mjs';
import { startRemoteSimulator } from '../lib/remoteSim.mjs';
const lib = await import(await compileNode());
const dir = mkdtempSync(join(tmpdir(), 'prof-'));
const sim = await startRemoteSimulator();
const url = sim.url + lib.TUTORIAL_MESSAGES_PATH;
const tokens = lib.clientCredentials({
  loginUrl: sim.url,
  clientId: 'sim-client',
  clientSecret: 'sim-secret',
});
await sim.control.reset();
await sim.control.latency(20);
let active = 0,
  busy = 0,
  lastT = 0,
  first = 0;
const tick = () => {
  const t = performance.now();
  busy += active * (t - lastT);
  lastT = t;
};
const f = async (...a) => {
  tick();
  if (!first) first = lastT;
  active++;
  try {
    const r = await fetch(...a);
    await r.clone().arrayBuffer();
    return r;
  } finally {
    tick();
    active--;
  }
};
const times = {};
const store = process.env.MEM
  ? lib.memoryStore()
  : lib.sqliteStore({ path: join(dir, 'x.sqlite') });
const calls = ['heads', 'update', 'remove', 'removeDelivered', 'putTranscript', 'pruneTranscript'];
for (const k of [...calls, 'append']) {
  if (typeof store[k] !== 'function') continue; // the memory store has no removeDelivered
  const orig = store[k].bind(store);
  times[k] = [0, 0];
  store[k] = async (...a) => {
    const t = performance.now();
    try {
      return await orig(...a);
    } finally {
      times[k][0] += performance.now() - t;
      times[k][1]++;
    }
  };
}
const outbox = await lib.createOutbox({
  transport: lib.httpTransport({ url, getAccessToken: tokens, fetch: f }),
  store,
  name: 'p',
  connectivity: { isOnline: () => true, subscribe: () => () => {} },
});
await tokens.getToken();
const N = 1000;
const ps = [];
for (let i = 0; i < N; i++)
  ps.push(
    outbox.send({
      text: 'x'.repeat(200),
      conversationId: `c${i % 10}`,
      metadata: { guestId: 'g' },
    }),
  );
const entries = await Promise.all(ps);
await Promise.all(entries.map((e) => outbox.whenSettled(e.id)));
tick();
const wall = lastT - first;
console.log({
  wallMs: wall.toFixed(0),
  rate: ((N * 1000) / wall).toFixed(1),
  avgConcurrency: (busy / wall).toFixed(2),
  times: Object.fromEntries(
    Object.entries(times).map(([k, [ms, n]]) => [
      k,
      `${n} calls, ${(ms / Math.max(n, 1)).toFixed(2)} ms avg`,
    ]),
  ),
});
await outbox.close();
await sim.close();
rmSync(dir, { recursive: true, force: true });
