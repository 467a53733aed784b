// Chaos seed browser/guest 1033 (two tabs, a browser kill): both tabs started their guest
// transport at once on a first visit. Each read no session token from the store, made its own and
// stored it; the last write won. The sending tab kept using the other one, so after the kill the
// relaunched tabs read a token no conversation had used: a new Genesys conversation, and the
// message in doubt at the kill was sent again into it (a second copy, in a conversation the
// agent had never seen). The first token is now stored only if none is there, and every
// transport uses the one the store holds.
import WebSocket from 'ws';
import { expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { memoryStore } from '../../src/store/memory.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';
import { guestTransport, type WebSocketConstructor } from '../../src/transport/guest.js';
import type { Transport } from '../../src/transport/Transport.js';
import { directContext, waitFor } from './guest-helpers.js';

/** A guest transport on `store`, started (configured once its socket is up). */
async function start(
  sim: Simulator,
  store: OutboxStore,
  started: Transport[],
): Promise<{ wakes: () => number }> {
  const t = guestTransport({
    webSocketUrl: sim.wsUrl,
    apiBaseUrl: sim.url,
    deploymentId: 'sim-deployment',
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    reconnect: { baseDelayMs: 20, maxDelayMs: 50 },
  });
  const ctx = directContext(store);
  started.push(t);
  await t.start?.(ctx);
  return { wakes: () => ctx.wakes };
}

it.each([2, 3, 5])(
  '%i transports starting at once on one store (tabs on a first visit) use one session token, the stored one',
  async (n) => {
    const sim = await startSimulator({ port: 0 });
    const started: Transport[] = [];
    try {
      const store = memoryStore();
      await store.open();
      const all = await Promise.all(Array.from({ length: n }, () => start(sim, store, started)));
      await waitFor(() => all.every((p) => p.wakes() > 0), 'every transport configured');
      const tokens = new Set(sim.control.sessions().map((s) => s.token));
      expect(tokens.size, 'sessions the simulator saw').toBe(1);
      expect(await store.getMeta('guest.sessionToken:sim-deployment')).toBe([...tokens][0]);
    } finally {
      for (const t of started) await t.close?.();
      await sim.close();
    }
  },
);

it('a store without setMetaIfAbsent: the token made is stored and used (a plain write)', async () => {
  const sim = await startSimulator({ port: 0 });
  const started: Transport[] = [];
  try {
    const inner = memoryStore();
    await inner.open();
    const { setMetaIfAbsent: _, ...rest } = inner;
    const store: OutboxStore = rest;
    const t = await start(sim, store, started);
    await waitFor(() => t.wakes() > 0, 'configured');
    const [session] = sim.control.sessions();
    expect(await store.getMeta('guest.sessionToken:sim-deployment')).toBe(session!.token);
  } finally {
    for (const x of started) await x.close?.();
    await sim.close();
  }
});
