import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AttemptRecord } from './attempts.js';
import type { AgentlessRecord, OpenInboundRecord, SimulatorContext } from './context.js';
import type { DeliveryRecord } from './delivered.js';
import type { DeploymentSettings, ResolvedDeploymentSettings } from './deployments.js';
import type { FaultState, OutageMode } from './faults.js';
import type { GuestMessageInfo, GuestService, GuestSessionInfo } from './guest.js';
import type { OriginatingEntity } from './guestSessions.js';
import {
  isRecord,
  parseJson,
  platformError,
  readBody,
  sendJson,
  sendPlatformError,
} from './respond.js';

/** A snapshot of the simulator, as `GET /__control/state` returns it. */
export interface SimulatorState {
  /** Simulator clock, epoch milliseconds. */
  now: number;
  faults: FaultState;
  dedupeOpenMessageId: boolean;
  /** Open Messaging duplicates refused with 409 (de-duplication on). */
  openDuplicatesRefused: number;
  deliveredCount: number;
  guest: {
    dedupeTracingId: boolean;
    jwtTtlSeconds: number;
    frames: { delayMs: number; reorderRemaining: number; held: number };
    sessions: number;
  };
}

/**
 * Drives the simulator from a test (programmatic) or over HTTP (`POST /__control/<name>` with a
 * JSON body of named arguments; see docs/simulator.md for the route table).
 */
export interface SimulatorControl {
  /** Everything stored so far, in order, duplicates included. */
  delivered(): DeliveryRecord[];
  /**
   * Every message request (tutorial, Open Messaging, guest onMessage) as it arrived, with its
   * idempotency key: the raw attempts, including repeats the server de-duplicated.
   */
  attempts(): AttemptRecord[];
  state(): SimulatorState;
  /** Open Messaging receipts and events received (`…/inbound/open/receipt` / `…/event`), in order. */
  openInbound(): OpenInboundRecord[];
  /** Agentless outbound messages received (`POST /api/v2/conversations/messages/agentless`), in order. */
  agentless(): AgentlessRecord[];
  /** Ends the outage, clears every fault, the delivery record and the attempts; tokens and guest sessions stay. */
  reset(): Promise<void>;
  /** Moves the simulator's clock forward (token / JWT / session expiry, guest rate window). */
  advanceClock(ms: number): void;
  /** The simulator's clock, epoch milliseconds. */
  now(): number;

  /**
   * `'refuse'`: the API port stops listening (connection refused) and its connections are destroyed.
   * `'reset'`: connections are accepted, then every request / upgrade is answered with a TCP reset.
   * `false`: back to normal (same port). The control port stays up throughout.
   */
  outage(mode: OutageMode): Promise<void>;
  /** Delay before each message / history request is handled. */
  latency(ms: number): void;
  /** The next `count` message requests get 429 with `Retry-After: retryAfter` (seconds or HTTP-date). */
  fail429(count: number, retryAfter?: number | string): void;
  /** The next `count` message requests get `status` (default 503). */
  fail5xx(count: number, status?: number): void;
  /** The next message request gets 401 even with a valid token (the token keeps working). */
  fail401Once(): void;
  /** Every access token issued so far stops working (401); new tokens can be fetched. */
  revokeTokens(): void;
  /** The next `count` accepted messages are stored, then the connection is reset before the answer. */
  commitThenDrop(count: number): void;
  /** The next `count` token requests get `status` (default 503). */
  failToken(count: number, status?: number): void;
  /** Open Messaging: 409 for a `channel.messageId` already stored (default off). */
  setDedupeOpenMessageId(enabled: boolean): void;

  // ---- Web Messaging guest (the `session` argument: guest session token or conversation id) ----

  /** Every guest session with its current conversation's messages (guest and agent) in order. */
  sessions(): GuestSessionInfo[];
  /**
   * An agent (or bot) message: pushed to the guest's sockets, or held and delivered after the
   * next `configureSession` when none is connected; always in history.
   */
  agentMessage(
    session: string,
    text: string,
    options?: { originatingEntity?: OriginatingEntity; content?: unknown[] },
  ): GuestMessageInfo;
  /**
   * Pushes an Outbound Presence Disconnect event with `metadata.readOnly` "true" / "false": the
   * session becomes read-only when the deployment's `conversationDisconnect.type` is `ReadOnly`
   * (default `Send`: the guest may keep writing), or as `options.readOnly` says.
   */
  agentDisconnect(session: string, options?: { readOnly?: boolean }): GuestMessageInfo;
  /**
   * Pushes `ConnectionClosedEvent` (`{reason}` when given, e.g. `'signedIn'`; `{}` = session limit
   * reached) to every socket of the session, then closes them (1000). The session stays.
   */
  connectionClosed(session: string, options?: { reason?: string }): void;
  /**
   * Changes Messenger settings of one deployment (every deployment when `deploymentId` is
   * omitted), e.g. `{ conversationDisconnect: { type: 'ReadOnly' } }`; `reset()` restores the options.
   */
  setDeploymentSettings(settings: DeploymentSettings, deploymentId?: string): void;
  /** The current Messenger settings of a deployment. */
  deploymentSettings(deploymentId: string): ResolvedDeploymentSettings;
  /**
   * For the session's next onMessage: `'after-accept'` stores it (history, delivered) then kills
   * the socket without the echo; `'before-accept'` kills the socket without storing.
   */
  dropSocket(session: string, when: 'before-accept' | 'after-accept'): void;
  /** Every outgoing guest frame is sent `ms` later (0 = off). */
  delayFrames(ms: number): void;
  /** Holds the next `n` outgoing guest frames, then sends them in reverse order. */
  reorderNextFrames(n: number): void;
  /** Pushes SessionExpiredEvent; onMessage → 4006 until the next configureSession (new conversation). */
  expireSession(session: string): void;
  /** An onMessage whose tracingId is already stored gets the original echo and is not stored again. */
  setDedupeTracingId(enabled: boolean): void;
  /** The next onMessage (any session) is answered with this error code (and body) instead. */
  failNextOnMessage(code: number, body?: unknown): void;
  /** Lifetime of JWTs issued from now on (`getJwt`). */
  setJwtTtl(seconds: number): void;
}

/** The parts of the simulator the control drives that live outside the context. */
export interface ControlTargets {
  setOutage(mode: OutageMode): Promise<void>;
  guest: GuestService;
}

export function createControl(ctx: SimulatorContext, targets: ControlTargets): SimulatorControl {
  const guest = targets.guest;
  return {
    delivered: () => ctx.deliveries.list(),
    attempts: () => ctx.attempts.list(),
    openInbound: () => ctx.openInbound.map((r) => ({ ...r })),
    agentless: () => ctx.agentless.map((r) => ({ ...r })),
    state: () => ({
      now: ctx.clock.now(),
      faults: ctx.faults.snapshot(),
      dedupeOpenMessageId: ctx.dedupeOpenMessageId,
      openDuplicatesRefused: ctx.openDuplicatesRefused,
      deliveredCount: ctx.deliveries.list().length,
      guest: {
        dedupeTracingId: guest.dedupeTracingId,
        jwtTtlSeconds: guest.jwts.ttl,
        frames: guest.frames.state,
        sessions: guest.sessions.all().length,
      },
    }),
    async reset() {
      await targets.setOutage(false);
      ctx.faults.clear();
      ctx.deliveries.clear();
      ctx.attempts.clear();
      ctx.tutorialMessages.clear();
      ctx.openMessageIds.clear();
      ctx.openDuplicatesRefused = 0;
      ctx.openInbound.length = 0;
      ctx.agentless.length = 0;
      ctx.dedupeOpenMessageId = ctx.options.dedupeOpenMessageId;
      ctx.deployments.reset();
      guest.resetFaults();
    },
    advanceClock: (ms) => ctx.clock.advance(ms),
    now: () => ctx.clock.now(),
    outage: (mode) => targets.setOutage(mode),
    latency: (ms) => ctx.faults.setLatency(ms),
    fail429: (count, retryAfter) => ctx.faults.setFail429(count, retryAfter),
    fail5xx: (count, status) => ctx.faults.setFail5xx(count, status),
    fail401Once: () => ctx.faults.setFail401Once(),
    revokeTokens: () => ctx.tokens.revokeAll(),
    commitThenDrop: (count) => ctx.faults.setCommitThenDrop(count),
    failToken: (count, status) => ctx.faults.setFailToken(count, status),
    setDedupeOpenMessageId: (enabled) => {
      ctx.dedupeOpenMessageId = enabled;
    },
    sessions: () => guest.listSessions(),
    agentMessage: (session, text, options) => guest.agentMessage(session, text, options),
    agentDisconnect: (session, options) => guest.agentDisconnect(session, options),
    connectionClosed: (session, options) => guest.connectionClosed(session, options),
    setDeploymentSettings: (settings, deploymentId) => {
      if (deploymentId !== undefined && !ctx.deployments.has(deploymentId)) {
        throw new RangeError(`unknown deployment ${deploymentId}`);
      }
      ctx.deployments.update(deploymentId, settings);
    },
    deploymentSettings: (deploymentId) => ctx.deployments.get(deploymentId),
    dropSocket: (session, when) => guest.dropSocket(session, when),
    delayFrames: (ms) => guest.frames.setDelay(ms),
    reorderNextFrames: (n) => guest.frames.setReorder(n),
    expireSession: (session) => guest.expireSession(session),
    setDedupeTracingId: (enabled) => {
      guest.dedupeTracingId = enabled;
    },
    failNextOnMessage: (code, body) =>
      ctx.faults.setGuestFault(body === undefined ? { code } : { code, body }),
    setJwtTtl: (seconds) => guest.jwts.setTtl(seconds),
  };
}

/** Reads named arguments out of a control request body. */
export class Args {
  constructor(private readonly body: Record<string, unknown>) {}

  number(name: string, fallback?: number): number {
    const value = this.body[name] ?? fallback;
    if (typeof value !== 'number') throw new TypeError(`${name} must be a number`);
    return value;
  }

  optionalNumber(name: string): number | undefined {
    const value = this.body[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number') throw new TypeError(`${name} must be a number`);
    return value;
  }

  string(name: string): string {
    const value = this.body[name];
    if (typeof value !== 'string') throw new TypeError(`${name} must be a string`);
    return value;
  }

  boolean(name: string): boolean {
    const value = this.body[name];
    if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean`);
    return value;
  }

  raw(name: string): unknown {
    return this.body[name];
  }
}

/** One `POST /__control/<name>` command: runs it, returns what to answer (default `{ok:true}`). */
export type ControlCommand = (args: Args) => unknown;

/** The HTTP commands for the Part 1 control methods. */
export function platformCommands(control: SimulatorControl): Record<string, ControlCommand> {
  return {
    reset: () => control.reset(),
    advanceClock: (a) => control.advanceClock(a.number('ms')),
    outage: (a) => {
      const mode = a.raw('mode');
      if (mode !== false && mode !== 'refuse' && mode !== 'reset') {
        throw new TypeError("mode must be 'refuse', 'reset' or false");
      }
      return control.outage(mode);
    },
    latency: (a) => control.latency(a.number('ms')),
    fail429: (a) => {
      const retryAfter = a.raw('retryAfter');
      if (
        retryAfter !== undefined &&
        typeof retryAfter !== 'number' &&
        typeof retryAfter !== 'string'
      ) {
        throw new TypeError('retryAfter must be seconds or an HTTP-date string');
      }
      control.fail429(a.number('count', 1), retryAfter);
    },
    fail5xx: (a) => control.fail5xx(a.number('count', 1), a.optionalNumber('status')),
    fail401Once: () => control.fail401Once(),
    revokeTokens: () => control.revokeTokens(),
    commitThenDrop: (a) => control.commitThenDrop(a.number('count', 1)),
    failToken: (a) => control.failToken(a.number('count', 1), a.optionalNumber('status')),
    setDedupeOpenMessageId: (a) => control.setDedupeOpenMessageId(a.boolean('enabled')),
  };
}

/** The HTTP commands for the guest control methods. */
export function guestCommands(control: SimulatorControl): Record<string, ControlCommand> {
  return {
    agentMessage: (a) => {
      const entity = a.raw('originatingEntity');
      if (entity !== undefined && entity !== 'Human' && entity !== 'Bot') {
        throw new TypeError("originatingEntity must be 'Human' or 'Bot'");
      }
      const content = a.raw('content');
      if (content !== undefined && !Array.isArray(content)) {
        throw new TypeError('content must be an array');
      }
      return control.agentMessage(a.string('session'), a.string('text'), {
        ...(entity === undefined ? {} : { originatingEntity: entity }),
        ...(content === undefined ? {} : { content: content as unknown[] }),
      });
    },
    agentDisconnect: (a) => {
      const readOnly = a.raw('readOnly');
      if (readOnly !== undefined && typeof readOnly !== 'boolean') {
        throw new TypeError('readOnly must be a boolean');
      }
      return control.agentDisconnect(
        a.string('session'),
        readOnly === undefined ? {} : { readOnly },
      );
    },
    connectionClosed: (a) => {
      const reason = a.raw('reason');
      if (reason !== undefined && typeof reason !== 'string') {
        throw new TypeError('reason must be a string');
      }
      control.connectionClosed(a.string('session'), reason === undefined ? {} : { reason });
    },
    setDeploymentSettings: (a) => {
      const deploymentId = a.raw('deploymentId');
      if (deploymentId !== undefined && typeof deploymentId !== 'string') {
        throw new TypeError('deploymentId must be a string');
      }
      const settings = a.raw('settings');
      if (settings === undefined) throw new TypeError('settings must be an object');
      control.setDeploymentSettings(settings as DeploymentSettings, deploymentId);
    },
    dropSocket: (a) => {
      const when = a.raw('when');
      if (when !== 'before-accept' && when !== 'after-accept') {
        throw new TypeError("when must be 'before-accept' or 'after-accept'");
      }
      control.dropSocket(a.string('session'), when);
    },
    delayFrames: (a) => control.delayFrames(a.number('ms')),
    reorderNextFrames: (a) => control.reorderNextFrames(a.number('n')),
    expireSession: (a) => control.expireSession(a.string('session')),
    setDedupeTracingId: (a) => control.setDedupeTracingId(a.boolean('enabled')),
    failNextOnMessage: (a) => control.failNextOnMessage(a.number('code'), a.raw('body')),
    setJwtTtl: (a) => control.setJwtTtl(a.number('seconds')),
  };
}

/** `GET` control routes: name → value to answer. */
export type ControlQuery = () => unknown;

/**
 * Serves `/__control/*`: `GET /__control/<query>` and `POST /__control/<command>` with a JSON body.
 * Unknown names → 404; bad arguments → 400 (both with a §3-shaped body).
 */
export function createControlHandler(
  commands: Record<string, ControlCommand>,
  queries: Record<string, ControlQuery>,
) {
  return async (req: IncomingMessage, res: ServerResponse, name: string): Promise<void> => {
    const method = req.method ?? 'GET';
    if (method === 'GET') {
      const query = Object.hasOwn(queries, name) ? queries[name] : undefined;
      if (query === undefined) {
        sendPlatformError(res, platformError(404, 'not.found', `Unknown control query: ${name}`));
        return;
      }
      sendJson(res, 200, query());
      return;
    }
    if (method !== 'POST') {
      sendPlatformError(res, platformError(405, 'method.not.allowed', 'Use GET or POST.'));
      return;
    }
    const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (command === undefined) {
      sendPlatformError(res, platformError(404, 'not.found', `Unknown control command: ${name}`));
      return;
    }
    const text = await readBody(req);
    const body = text.trim() === '' ? {} : parseJson(text);
    if (!isRecord(body)) {
      sendPlatformError(res, platformError(400, 'bad.request', 'The body must be a JSON object.'));
      return;
    }
    let result: unknown;
    try {
      result = await command(new Args(body));
    } catch (error: unknown) {
      const message = error instanceof Error ? error.message : String(error);
      sendPlatformError(res, platformError(400, 'bad.request', message));
      return;
    }
    sendJson(res, 200, result === undefined ? { ok: true } : result);
  };
}
