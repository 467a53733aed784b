/**
 * A local Genesys Cloud for tests and the demo: OAuth client credentials, the tutorial's endpoint,
 * Open Messaging inbound, the Web Messaging Guest API (WebSocket) and its history, with fault
 * injection. Node only. See docs/simulator.md.
 *
 * @example
 * const sim = await startSimulator();
 * await sim.control.outage('refuse');
 * // ... the client fails to connect ...
 * await sim.control.outage(false);
 * await sim.close();
 */
import { AttemptLog } from './attempts.js';
import { SimClock } from './clock.js';
import type { SimulatorContext } from './context.js';
import {
  createControl,
  createControlHandler,
  guestCommands,
  platformCommands,
  type SimulatorControl,
} from './control.js';
import { DeliveryLog } from './delivered.js';
import { OpenMessagingOutbound } from './openMessagingOutbound.js';
import { Deployments } from './deployments.js';
import { Faults, type OutageMode } from './faults.js';
import { GuestService } from './guest.js';
import { handleHistory, HISTORY_PATH } from './history.js';
import { SimulatorServer } from './http.js';
import { TokenStore } from './oauth.js';
import { resolveOptions, type SimulatorOptions } from './options.js';
import { PlatformRateCounter } from './rateLimitHeaders.js';

export type { SimulatorOptions } from './options.js';
export type {
  AgentOpenMessage,
  OpenWebhookAttempt,
  OpenWebhookOptions,
} from './openMessagingOutbound.js';
export { OpenMessagingOutbound } from './openMessagingOutbound.js';
export type { SimulatorControl, SimulatorState } from './control.js';
export type { AttemptRecord } from './attempts.js';
export type { DeliveryKind, DeliveryRecord } from './delivered.js';
export type { AgentlessRecord, OpenInboundRecord } from './context.js';
export type { FaultState, GuestFault, OutageMode } from './faults.js';
export type { GuestMessageInfo, GuestSessionInfo } from './guest.js';
export type { OriginatingEntity } from './guestSessions.js';
export type {
  ConversationDisconnectType,
  DeploymentSettings,
  ResolvedDeploymentSettings,
} from './deployments.js';

/** A running simulator. */
export interface Simulator {
  /** Base URL of the API port: `http://127.0.0.1:PORT` (OAuth, REST, history, and `/__control`). */
  url: string;
  /** Base URL for the guest WebSocket: `ws://127.0.0.1:PORT` (connect to `${wsUrl}/v1?deploymentId=…`). */
  wsUrl: string;
  /** The API port. */
  port: number;
  /** Base URL of the always-up control port (`/__control/*` only; reachable during an outage). */
  controlUrl: string;
  controlPort: number;
  /**
   * Open Messaging's outbound direction: `configureWebhook({ url, secret })`, then
   * `agentMessage({ to, text })` posts a signed NormalizedMessage there (retrying non-2xx with
   * backoff). Receipts posted back are in `control.openInbound()`.
   */
  openMessaging: OpenMessagingOutbound;
  control: SimulatorControl;
  /** Stops listening, closes every connection and timer. */
  close(): Promise<void>;
}

/** Starts a simulator. Rejects (e.g. `EADDRINUSE`) when a port cannot be bound. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const resolved = resolveOptions(options);
  const clock = new SimClock(resolved.now);
  const ctx: SimulatorContext = {
    options: resolved,
    clock,
    tokens: new TokenStore(clock, resolved.tokenTtlSeconds),
    faults: new Faults(),
    deliveries: new DeliveryLog(),
    attempts: new AttemptLog(),
    rateCounter: new PlatformRateCounter(() => clock.now()),
    deployments: new Deployments(resolved.deployments, resolved.deploymentSettings),
    tutorialMessages: new Map(),
    openMessageIds: new Map(),
    openConversations: new Map(),
    openInbound: [],
    agentless: [],
    openDuplicatesRefused: 0,
    dedupeOpenMessageId: resolved.dedupeOpenMessageId,
    log: (line) => {
      if (resolved.log) process.stderr.write(`[simulator] ${line}\n`);
    },
  };

  const guest = new GuestService(ctx);
  const openMessaging = new OpenMessagingOutbound(ctx);
  const targets = { setOutage: (_mode: OutageMode): Promise<void> => Promise.resolve() };
  const control = createControl(ctx, { setOutage: (mode) => targets.setOutage(mode), guest });
  const handler = createControlHandler(
    { ...platformCommands(control), ...guestCommands(control) },
    {
      state: () => control.state(),
      delivered: () => control.delivered(),
      attempts: () => control.attempts(),
      sessions: () => control.sessions(),
      openInbound: () => control.openInbound(),
      agentless: () => control.agentless(),
    },
  );
  const server = new SimulatorServer(ctx, {
    control: handler,
    routes: [
      {
        method: 'GET',
        path: HISTORY_PATH,
        slowed: true,
        handle: (req, res, query) =>
          Promise.resolve(handleHistory(req, res, query, guest, ctx.rateCounter)),
      },
    ],
    upgrade: (req, socket, head) => guest.upgrade(req, socket, head),
    outageStarted: () => guest.terminateAll(),
  });
  targets.setOutage = (mode) => server.setOutage(mode);
  try {
    await server.start();
  } catch (error: unknown) {
    guest.close();
    throw error;
  }

  const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  return {
    url: `http://${host}:${server.port}`,
    wsUrl: `ws://${host}:${server.port}`,
    port: server.port,
    controlUrl: `http://${host}:${server.controlPort}`,
    controlPort: server.controlPort,
    control,
    openMessaging,
    close: async () => {
      guest.close();
      openMessaging.close();
      await server.close();
    },
  };
}
