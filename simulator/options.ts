import type { DeploymentSettings } from './deployments.js';

/** Options of {@link startSimulator}; every field is optional. */
export interface SimulatorOptions {
  /** TCP port of the API (HTTP + WebSocket). `0` picks a free port. @default 0 */
  port?: number;
  /**
   * Port of the always-up control server (`controlUrl`), which keeps answering `/__control/*`
   * during an outage. `0` picks a free port. @default 0
   */
  controlPort?: number;
  /** Interface to bind. @default '127.0.0.1' */
  host?: string;
  /** Lifetime of OAuth access tokens, in seconds of the simulator's clock. @default 86400 */
  tokenTtlSeconds?: number;
  /** OAuth clients: clientId → clientSecret. @default { 'sim-client': 'sim-secret' } */
  clients?: Record<string, string>;
  /** Known Web Messaging deployment ids. @default ['sim-deployment'] */
  deployments?: string[];
  /**
   * Messenger settings per deployment id (`conversationDisconnect`, `conversationClear`,
   * `autoStart`, typing indicators); unnamed fields keep Genesys' defaults
   * (`conversationDisconnect: { enabled: false, type: 'Send' }`, the rest off).
   * `control.setDeploymentSettings` changes them at run time. @default {}
   */
  deploymentSettings?: Record<string, DeploymentSettings>;
  /** Longest guest `onMessage` text accepted (longer → 4011). @default 4000 */
  guestTextLimit?: number;
  /** At most this many `onMessage` per guest session per sliding second (more → 429/4029). @default 2 */
  guestRateLimitPerSecond?: number;
  /** Guest `onMessage` with a `tracingId` already stored in the conversation is not stored again. @default false */
  dedupeTracingId?: boolean;
  /** Open Messaging: a `channel.messageId` already stored answers 409 instead of storing again. @default false */
  dedupeOpenMessageId?: boolean;
  /** A tiny bot answers each guest message with an Outbound Bot StructuredMessage. @default false */
  bot?: boolean;
  /** Delay of the bot's answer, real milliseconds. @default 50 */
  botDelayMs?: number;
  /** Lifetime of guest JWTs (`getJwt`), in seconds of the simulator's clock. @default 3600 */
  jwtTtlSeconds?: number;
  /** A guest session expires this long after `configureSession` (simulator clock). @default 259200 (72 h) */
  sessionDurationSeconds?: number;
  /**
   * `newSession` of the `SessionResponse{connected:false, readOnly:true}` that answers
   * `closeSession` (unconfirmed: Genesys' SDK fixture has `true`, its default). @default true
   */
  closeSessionNewSession?: boolean;
  /** A guest Typing event is echoed back like other events (unconfirmed: Genesys' answer is not public). @default false */
  echoTypingEvents?: boolean;
  /** Envelope `type` of the pushed `SessionExpiredEvent` (MG fixture: `'response'`). @default 'response' */
  sessionExpiredEventType?: 'response' | 'message';
  /** HTTP status of an accepted agentless message (unconfirmed). @default 202 */
  agentlessStatus?: number;
  /** Base time source; `control.advanceClock(ms)` moves the simulator's clock ahead of it. @default Date.now */
  now?: () => number;
  /** Log one line per request to stderr (method, path, status; never message text). @default false */
  log?: boolean;
}

/** {@link SimulatorOptions} with defaults applied. */
export interface ResolvedOptions {
  port: number;
  controlPort: number;
  host: string;
  tokenTtlSeconds: number;
  clients: Record<string, string>;
  deployments: string[];
  deploymentSettings: Record<string, DeploymentSettings>;
  guestTextLimit: number;
  guestRateLimitPerSecond: number;
  dedupeTracingId: boolean;
  dedupeOpenMessageId: boolean;
  bot: boolean;
  botDelayMs: number;
  jwtTtlSeconds: number;
  sessionDurationSeconds: number;
  closeSessionNewSession: boolean;
  echoTypingEvents: boolean;
  agentlessStatus: number;
  sessionExpiredEventType: 'response' | 'message';
  now: () => number;
  log: boolean;
}

export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  return {
    port: options.port ?? 0,
    controlPort: options.controlPort ?? 0,
    host: options.host ?? '127.0.0.1',
    tokenTtlSeconds: options.tokenTtlSeconds ?? 86_400,
    clients: options.clients ?? { 'sim-client': 'sim-secret' },
    deployments: options.deployments ?? ['sim-deployment'],
    deploymentSettings: options.deploymentSettings ?? {},
    guestTextLimit: options.guestTextLimit ?? 4000,
    guestRateLimitPerSecond: options.guestRateLimitPerSecond ?? 2,
    dedupeTracingId: options.dedupeTracingId ?? false,
    dedupeOpenMessageId: options.dedupeOpenMessageId ?? false,
    bot: options.bot ?? false,
    botDelayMs: options.botDelayMs ?? 50,
    jwtTtlSeconds: options.jwtTtlSeconds ?? 3600,
    sessionDurationSeconds: options.sessionDurationSeconds ?? 259_200,
    closeSessionNewSession: options.closeSessionNewSession ?? true,
    echoTypingEvents: options.echoTypingEvents ?? false,
    agentlessStatus: options.agentlessStatus ?? 202,
    sessionExpiredEventType: options.sessionExpiredEventType ?? 'response',
    now: options.now ?? (() => Date.now()),
    log: options.log ?? false,
  };
}
