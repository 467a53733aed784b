// Shared pieces of the guest transport integration tests (simulator over real WebSockets).
import WebSocket from 'ws';
import { waitFor as sharedWaitFor } from '../helpers/waitFor.js';
import { systemClock } from '../../src/internal/clock.js';
import type { Logger } from '../../src/internal/logger.js';
import type { OutboxStore, TranscriptRecord } from '../../src/store/OutboxStore.js';
import type { TransportContext } from '../../src/transport/Transport.js';
import type { WebSocketConstructor } from '../../src/transport/guest.js';

/** `ws` that also keeps every frame it receives (to count 429s). */
export function recordingWebSocket(frames: string[]): WebSocketConstructor {
  class Recording extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      this.on('message', (data: WebSocket.RawData) => frames.push(String(data)));
    }
  }
  return Recording;
}

export const count429 = (frames: readonly string[]): number =>
  frames.filter((f) => /"code":\s*(429|4029)\b/.test(f)).length;

/** The shared `waitFor` with a description first and a 20 s default (sockets, reconnects). */
export const waitFor = <T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> => sharedWaitFor(probe, { what, timeoutMs }) as Promise<NonNullable<T>>;

export interface DirectContext extends TransportContext {
  wakes: number;
  records: TranscriptRecord[];
  warnings: string[];
  abort: AbortController;
}

/** A transport context for driving the transport directly. */
export function directContext(store: OutboxStore): DirectContext {
  const abort = new AbortController();
  const warnings: string[] = [];
  const logger: Logger = {
    debug: () => {},
    warn: (m, c) => warnings.push(`${m} ${JSON.stringify(c ?? {})}`),
    error: (m, c) => warnings.push(`${m} ${JSON.stringify(c ?? {})}`),
  };
  const ctx: DirectContext = {
    store,
    clock: systemClock,
    logger,
    random: () => 0.5,
    signal: abort.signal,
    abort,
    wakes: 0,
    records: [],
    warnings,
    wake: () => {
      ctx.wakes++;
    },
    reportConnectivity: () => {},
    recordTranscript: async (records) => {
      await store.putTranscript(records);
      ctx.records.push(...records);
    },
    isLeader: () => true,
  };
  return ctx;
}

/** A store whose close() does nothing, so a second outbox can reopen "the same storage". */
export function survivingStore(store: OutboxStore): OutboxStore {
  return { ...store, close: async () => {} };
}
