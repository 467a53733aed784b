import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SimulatorContext } from './context.js';
import type { OutageMode } from './faults.js';
import { handleTokenRequest } from './oauth.js';
import { AGENTLESS_PATH, handleAgentless } from './agentless.js';
import { DEPLOYMENT_CONFIG_PATH, handleDeploymentConfig } from './deploymentConfig.js';
import { newUuid } from './ids.js';
import {
  handleOpenEvent,
  handleOpenMessage,
  handleOpenReceipt,
  OPEN_EVENT_PATH,
  OPEN_MESSAGE_PATH,
  OPEN_RECEIPT_PATH,
} from './openMessaging.js';
import {
  CORS_HEADERS,
  platformError,
  resetSocket,
  sendJson,
  sendPlatformError,
} from './respond.js';
import { handleTutorialMessage, TUTORIAL_PATH } from './tutorial.js';

/** Handles `/__control/*` requests (see control.ts). */
export type ControlHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
) => Promise<void>;

/** Extra routes and hooks plugged in by the guest API. */
export interface ServerHooks {
  control: ControlHandler;
  /** `GET` routes on the API port, tried before the 404 (e.g. history). */
  routes: Array<{
    method: string;
    path: string;
    /** The route is slowed by `latency(ms)`. */
    slowed: boolean;
    handle: (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void>;
  }>;
  /** WebSocket upgrades on the API port (not called during an outage). */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Called when an outage begins: terminate long-lived connections (WebSockets). */
  outageStarted?: () => void;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
  });
}

function listen(server: NetServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: unknown): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Two listeners. The API port serves everything; an outage in mode `'refuse'` really closes its
 * listening socket (clients get ECONNREFUSED, WebSocket upgrades fail the same way) and destroys
 * its open connections. The control port is never affected and serves only `/__control/*`, so a
 * test or the demo page can always end the outage. In mode `'reset'` the API port keeps listening
 * but every non-control request and WebSocket upgrade is answered with a TCP reset.
 */
export class SimulatorServer {
  private readonly api: HttpServer;
  private readonly controlServer: HttpServer;
  private apiListener: NetServer | undefined;
  private controlListener: NetServer | undefined;
  private readonly apiSockets = new Set<Socket>();
  private readonly controlSockets = new Set<Socket>();
  port = 0;
  controlPort = 0;
  private closed = false;

  constructor(
    private readonly ctx: SimulatorContext,
    private readonly hooks: ServerHooks,
  ) {
    this.api = createHttpServer((req, res) => void this.handle(req, res, false));
    this.controlServer = createHttpServer((req, res) => void this.handle(req, res, true));
    this.api.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.ctx.faults.outage !== false || this.hooks.upgrade === undefined) {
        resetSocket(socket as Socket);
        return;
      }
      this.hooks.upgrade(req, socket, head);
    });
  }

  async start(): Promise<void> {
    const { host } = this.ctx.options;
    this.apiListener = this.newListener(this.api, this.apiSockets);
    this.port = await listen(this.apiListener, this.ctx.options.port, host);
    this.controlListener = this.newListener(this.controlServer, this.controlSockets);
    try {
      this.controlPort = await listen(this.controlListener, this.ctx.options.controlPort, host);
    } catch (error: unknown) {
      this.apiListener.close();
      throw error;
    }
  }

  private newListener(server: HttpServer, sockets: Set<Socket>): NetServer {
    return createNetServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      server.emit('connection', socket);
    });
  }

  async setOutage(mode: OutageMode): Promise<void> {
    if (mode !== false && mode !== 'refuse' && mode !== 'reset') {
      throw new RangeError("outage: mode must be 'refuse', 'reset' or false");
    }
    const previous = this.ctx.faults.outage;
    this.ctx.faults.outage = mode;
    if (mode === 'refuse' && this.apiListener !== undefined) {
      const listener = this.apiListener;
      this.apiListener = undefined;
      listener.close();
    }
    if (mode !== false && previous === false) {
      this.hooks.outageStarted?.();
      await this.dropConnections();
    }
    if (mode !== 'refuse' && this.apiListener === undefined && !this.closed) {
      const listener = this.newListener(this.api, this.apiSockets);
      // Same port again: the one clients know.
      await listen(listener, this.port, this.ctx.options.host);
      this.apiListener = listener;
    }
  }

  /**
   * Closes every open API connection (keep-alive ones included, as a real outage would), waits for
   * them to close, then gives in-process clients a moment to notice, so that their next request
   * opens a new connection and meets the outage instead of a stale pooled socket.
   */
  private async dropConnections(): Promise<void> {
    const sockets = [...this.apiSockets];
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.destroyed) {
              resolve();
              return;
            }
            socket.once('close', () => resolve());
            socket.destroy();
          }),
      ),
    );
    if (sockets.length > 0) await delay(20);
  }

  async close(): Promise<void> {
    this.closed = true;
    const listeners = [this.apiListener, this.controlListener].filter(
      (l): l is NetServer => l !== undefined,
    );
    this.apiListener = undefined;
    this.controlListener = undefined;
    for (const socket of [...this.apiSockets, ...this.controlSockets]) socket.destroy();
    await Promise.all(
      listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))),
    );
  }

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
    controlPort: boolean,
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const path = url.pathname;
    if (this.ctx.options.log) {
      res.once('finish', () => this.ctx.log(`${req.method ?? '?'} ${path} -> ${res.statusCode}`));
    }
    // Genesys sends ININ-Correlation-Id on every response; an error's equals its contextId.
    res.setHeader('inin-correlation-id', newUuid());
    try {
      if (req.method === 'OPTIONS') {
        res.writeHead(204, CORS_HEADERS);
        res.end();
        return;
      }
      if (path === '/__control' || path.startsWith('/__control/')) {
        await this.hooks.control(req, res, path.slice('/__control'.length).replace(/^\//, ''));
        return;
      }
      if (controlPort) {
        sendPlatformError(
          res,
          platformError(404, 'not.found', 'The control port serves /__control/* only.'),
        );
        return;
      }
      if (this.ctx.faults.outage !== false) {
        resetSocket(req.socket);
        return;
      }
      await this.route(req, res, path, url.searchParams);
    } catch (error: unknown) {
      this.ctx.log(`error on ${path}: ${error instanceof Error ? error.message : String(error)}`);
      sendPlatformError(
        res,
        platformError(500, 'internal.server.error', 'The simulator failed to handle the request.'),
      );
    }
  }

  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: URLSearchParams,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    if (path === '/oauth/token' && method === 'POST') {
      await handleTokenRequest(req, res, {
        tokens: this.ctx.tokens,
        clients: this.ctx.options.clients,
        faults: this.ctx.faults,
      });
      return;
    }
    if (path === TUTORIAL_PATH && method === 'POST') {
      await this.slow();
      if (res.destroyed) return;
      await handleTutorialMessage(req, res, this.ctx);
      return;
    }
    const open = OPEN_MESSAGE_PATH.exec(path);
    if (open?.[1] !== undefined && method === 'POST') {
      await this.slow();
      if (res.destroyed) return;
      await handleOpenMessage(req, res, this.ctx, decodeURIComponent(open[1]), query);
      return;
    }
    const receipt = OPEN_RECEIPT_PATH.exec(path);
    if (receipt?.[1] !== undefined && method === 'POST') {
      await this.slow();
      if (res.destroyed) return;
      await handleOpenReceipt(req, res, this.ctx, decodeURIComponent(receipt[1]));
      return;
    }
    const event = OPEN_EVENT_PATH.exec(path);
    if (event?.[1] !== undefined && method === 'POST') {
      await this.slow();
      if (res.destroyed) return;
      await handleOpenEvent(req, res, this.ctx, decodeURIComponent(event[1]));
      return;
    }
    if (path === AGENTLESS_PATH && method === 'POST') {
      await this.slow();
      if (res.destroyed) return;
      await handleAgentless(req, res, this.ctx);
      return;
    }
    const config = DEPLOYMENT_CONFIG_PATH.exec(path);
    if (config?.[1] !== undefined && method === 'GET') {
      const host = this.ctx.options.host.includes(':')
        ? `[${this.ctx.options.host}]`
        : this.ctx.options.host;
      handleDeploymentConfig(res, this.ctx, decodeURIComponent(config[1]), {
        apiUrl: `http://${host}:${this.port}`,
        wsUrl: `ws://${host}:${this.port}`,
      });
      return;
    }
    for (const route of this.hooks.routes) {
      if (route.path === path && route.method === method) {
        if (route.slowed) await this.slow();
        if (res.destroyed) return;
        await route.handle(req, res, query);
        return;
      }
    }
    // GET or HEAD / answers 200: what a connectivity probe (the demo's) asks.
    if (path === '/' && (method === 'GET' || method === 'HEAD')) {
      sendJson(res, 200, { name: 'genesys-webmessaging-outbox simulator' });
      return;
    }
    sendPlatformError(res, platformError(404, 'not.found', `No route for ${method} ${path}.`));
  }

  private async slow(): Promise<void> {
    const ms = this.ctx.faults.latencyMs;
    if (ms > 0) await delay(ms);
  }
}
