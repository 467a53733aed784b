// Transport.wipe() of the guest transport: the Genesys side of a visitor is cleared (as the
// Messenger SDK's clearConversation does), with closeSession where the deployment refuses that.
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator/index.js';
import { memoryStore } from '../../src/store/memory.js';
import { guestTransport } from '../../src/transport/guest.js';
import type { Transport } from '../../src/transport/Transport.js';
import { directContext, recordingWebSocket, waitFor, type DirectContext } from './guest-helpers.js';

const DEPLOYMENT = 'sim-deployment';
let sim: Simulator | undefined;
const transports: Transport[] = [];

async function started(frames: string[] = []): Promise<{ t: Transport; ctx: DirectContext }> {
  if (!sim) throw new Error('no simulator');
  const t = guestTransport({
    webSocketUrl: sim.wsUrl,
    apiBaseUrl: sim.url,
    deploymentId: DEPLOYMENT,
    WebSocket: recordingWebSocket(frames),
    reconnect: { baseDelayMs: 20, maxDelayMs: 100 },
  });
  transports.push(t);
  const ctx = directContext(memoryStore());
  await ctx.store.open();
  await t.start?.(ctx);
  return { t, ctx };
}

async function simulator(options: SimulatorOptions = {}): Promise<Simulator> {
  sim = await startSimulator({ port: 0, ...options });
  return sim;
}

afterEach(async () => {
  for (const t of transports.splice(0)) await t.close?.();
  await sim?.close();
  sim = undefined;
});

describe('guest transport wipe()', () => {
  it('clears the Genesys session: SessionClearedEvent, the token no longer resumes it, no reconnect', async () => {
    const s = await simulator();
    s.control.setDeploymentSettings({ conversationClear: { enabled: true } });
    const frames: string[] = [];
    const { t, ctx } = await started(frames);
    await waitFor(() => ctx.wakes > 0, 'a configured session');
    const token = await waitFor(() => s.control.sessions()[0]?.token, 'the session');
    const conversationId = s.control.sessions()[0]?.conversationId;
    await t.wipe?.();
    expect(frames.some((f) => f.includes('"SessionClearedEvent"'))).toBe(true);
    const info = s.control.sessions().find((x) => x.token === token);
    expect(info?.cleared).toBe(true);
    await waitFor(() => s.control.sessions()[0]?.connections === 0, 'the socket closed');
    // Closed for good: nothing reconnects with the old token.
    await new Promise((r) => setTimeout(r, 200));
    expect(s.control.sessions().filter((x) => x.token === token && !x.cleared)).toEqual([]);

    // A new visitor (fresh store, so a fresh token) gets a new session and conversation.
    const next = await started();
    await waitFor(() => next.ctx.wakes > 0, 'a second session');
    const live = s.control.sessions().filter((x) => !x.cleared);
    expect(live).toHaveLength(1);
    expect(live[0]?.token).not.toBe(token);
    expect(live[0]?.conversationId).not.toBe(conversationId);
  });

  it('a deployment that refuses the clear (403, the default) gets closeSession with closeAllConnections', async () => {
    const s = await simulator();
    const frames: string[] = [];
    const { t, ctx } = await started(frames);
    await waitFor(() => ctx.wakes > 0, 'a configured session');
    await t.wipe?.();
    expect(frames.some((f) => f.includes('"code":403'))).toBe(true);
    // closeSession answers the asking socket SessionResponse{connected:false}; read-only now.
    expect(frames.some((f) => f.includes('"connected":false'))).toBe(true);
    expect(s.control.sessions()[0]?.readOnly).toBe(true);
    await waitFor(() => s.control.sessions()[0]?.connections === 0, 'the socket closed');
  });

  it('offline: resolves without a server and closes the transport', async () => {
    const s = await simulator();
    await s.control.outage('refuse');
    const { t } = await started();
    await t.wipe?.();
    await s.control.outage(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(s.control.sessions()).toEqual([]);
  });

  it('never started: resolves', async () => {
    await simulator();
    const t = guestTransport({
      webSocketUrl: 'ws://127.0.0.1:9/',
      apiBaseUrl: 'http://127.0.0.1:9/',
      deploymentId: DEPLOYMENT,
      WebSocket,
    });
    await expect(t.wipe?.()).resolves.toBeUndefined();
  });
});
