import type { IncomingMessage, ServerResponse } from 'node:http';
import { newUuid } from './ids.js';

/** The Genesys Platform error body (genesys-api.md §3; `messageParams` from the SDK's `ErrorBody`). */
export interface PlatformErrorBody {
  message: string;
  code: string;
  status: number;
  /** Parameters of `message` (Genesys' `ErrorBody.messageParams`); `{}` when none. */
  messageParams: Record<string, string>;
  contextId: string;
  details: unknown[];
  errors: unknown[];
}

export function platformError(status: number, code: string, message: string): PlatformErrorBody {
  return {
    message,
    code,
    status,
    messageParams: {},
    contextId: newUuid(),
    details: [],
    errors: [],
  };
}

/** Any origin may call the simulator (the demo page runs on another port). */
export const CORS_HEADERS: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type',
  'access-control-expose-headers':
    'retry-after, inin-ratelimit-count, inin-ratelimit-allowed, inin-ratelimit-reset, inin-correlation-id',
  'access-control-max-age': '600',
};

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...CORS_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** Sends a §3 error body; the correlation header carries the same id as `contextId`. */
export function sendPlatformError(
  res: ServerResponse,
  body: PlatformErrorBody,
  headers: Record<string, string> = {},
): void {
  sendJson(res, body.status, body, { 'inin-correlation-id': body.contextId, ...headers });
}

const MAX_BODY_BYTES = 1_048_576;

/** Reads the request body as text (at most 1 MiB). */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Parses a JSON body; `undefined` when it is not valid JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

/** Destroys the connection with a TCP RST when the platform allows it (looks like a network fault). */
export function resetSocket(socket: { destroy(): void; resetAndDestroy?: () => void }): void {
  if (typeof socket.resetAndDestroy === 'function') {
    try {
      socket.resetAndDestroy();
      return;
    } catch {
      // resetAndDestroy throws on a socket without a handle; a plain destroy still ends it.
    }
  }
  socket.destroy();
}
