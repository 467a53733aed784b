import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimulatorContext } from './context.js';
import { sendUnauthorized } from './oauth.js';
import { platformError, sendPlatformError } from './respond.js';

function secondsUntil(retryAfter: number | string, now: number): number {
  if (typeof retryAfter === 'number') return Math.ceil(retryAfter);
  const at = Date.parse(retryAfter);
  return Number.isNaN(at) ? 0 : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * What a Platform message endpoint checks before looking at the body: the bearer token, then the
 * injected 401 / 429 / 5xx. Returns the rate-limit headers to add to the eventual answer, or
 * `undefined` when it has already answered.
 */
export function passMessageGate(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: SimulatorContext,
): Record<string, string> | undefined {
  const bearer = ctx.tokens.checkBearer(req);
  if (!bearer.ok) {
    sendUnauthorized(res, bearer.reason);
    return undefined;
  }
  const headers = ctx.rateCounter.hit(bearer.token);
  const fault = ctx.faults.takeMessageFault();
  if (fault === undefined) return headers;
  switch (fault.kind) {
    case '401':
      sendUnauthorized(res, 'invalid');
      break;
    case '429': {
      const seconds = secondsUntil(fault.retryAfter, Date.now());
      sendPlatformError(
        res,
        platformError(
          429,
          'too.many.requests.retry.after',
          `Rate limit exceeded the maximum. Retry the request in [${seconds}] seconds`,
        ),
        { ...headers, 'retry-after': String(fault.retryAfter) },
      );
      break;
    }
    case '5xx':
      sendPlatformError(
        res,
        fault.status === 503
          ? platformError(503, 'service.unavailable', 'Service temporarily unavailable.')
          : platformError(
              fault.status,
              'internal.server.error',
              'The server encountered an unexpected error.',
            ),
        headers,
      );
      break;
  }
  return undefined;
}
