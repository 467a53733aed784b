// Shared pieces of the guest transport integration tests (simulator over real WebSockets).
import WebSocket from 'ws';
import { waitFor as sharedWaitFor } from '../helpers/waitFor.js';
import { systemClock } from '../../src/internal/clock.js';
import type { Logger } from '../../src/internal/logger.js';
import type { OutboxStore, TranscriptRecord } from '../../src/store/OutboxStore.js';
import type { TransportContext } from '../../src/transport/Transport.js';
import type { OutboxEvent } from '../../src/outbox/events.js';
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
  events: OutboxEvent[];
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
    events: [],
    warnings,
    wake: () => {
      ctx.wakes++;
    },
    reportConnectivity: () => {},
    recordTranscript: async (records) => {
      await store.putTranscript(records);
      ctx.records.push(...records);
    },
    emit: (event) => {
      ctx.events.push(event);
    },
    isLeader: () => true,
  };
  return ctx;
}

/** A store whose close() does nothing, so a second outbox can reopen "the same storage". */
export function survivingStore(store: OutboxStore): OutboxStore {
  return { ...store, close: async () => {} };
}

/** The network between the guest and the simulator, as a test steers it. */
export interface Link {
  /** Delay of every frame the guest sends, ms (a slow network: the session answers late). */
  outMs: number;
  /** Frames from the server are lost (e.g. the echo of a message the server stored). */
  dropIn: boolean;
}

/** `ws` behind a {@link Link}. */
export function linkedWebSocket(link: Link): WebSocketConstructor {
  const proto = WebSocket.prototype as unknown as object;
  const onmessage = Object.getOwnPropertyDescriptor(proto, 'onmessage');
  class Linked extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      Object.defineProperty(this, 'onmessage', {
        set: (fn: ((ev: unknown) => void) | null) =>
          onmessage?.set?.call(this, fn && ((ev: unknown) => link.dropIn || fn(ev))),
        get: () => onmessage?.get?.call(this) as unknown,
      });
    }
    override send(data: string): void {
      const go = (): void => {
        try {
          super.send(data);
        } catch {
          // closed meanwhile: the frame is lost, as on a real network
        }
      };
      if (link.outMs > 0) setTimeout(go, link.outMs);
      else go();
    }
  }
  return Linked as unknown as WebSocketConstructor;
}

/**
 * A store that "dies" with its process: after `kill()` nothing more reaches `store` (every write
 * rejects), so what it holds is what a killed process would have left behind.
 */
export function killableStore(store: OutboxStore): { store: OutboxStore; kill: () => void } {
  let dead = false;
  const killed = (): Promise<never> => Promise.reject(new Error('process killed'));
  const wrapped: OutboxStore = { ...store, close: async () => {} };
  for (const k of [
    'append',
    'update',
    'remove',
    'removeDelivered',
    'setMeta',
    'putTranscript',
    'pruneTranscript',
  ] as const) {
    const f = store[k] as ((...a: unknown[]) => Promise<unknown>) | undefined;
    if (f !== undefined)
      (wrapped as unknown as Record<string, unknown>)[k] = (...a: unknown[]) =>
        dead ? killed() : f.apply(store, a);
  }
  return { store: wrapped, kill: () => (dead = true) };
}
