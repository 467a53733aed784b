// Test doubles for the guest transport unit tests: a manual clock, a scripted WebSocket and a
// transport context built on memoryStore().
import type { Clock } from '../../src/internal/clock.js';
import type { Logger } from '../../src/internal/logger.js';
import { memoryStore } from '../../src/store/memory.js';
import type { OutboxStore, TranscriptRecord } from '../../src/store/OutboxStore.js';
import type { Transport, TransportContext } from '../../src/transport/Transport.js';
import type { OutboxEvent } from '../../src/outbox/events.js';

export const flush = async (rounds = 5): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
};

export class ManualClock implements Clock {
  t = Date.parse('2024-05-01T12:00:00.000Z');
  private timers: { at: number; cb: () => void; id: number }[] = [];
  private next = 1;
  now = (): number => this.t;
  setTimeout = (cb: () => void, ms: number): number => {
    const id = this.next++;
    this.timers.push({ at: this.t + Math.max(0, ms), cb, id });
    return id;
  };
  clearTimeout = (h: unknown): void => {
    this.timers = this.timers.filter((x) => x.id !== h);
  };
  /** Moves time forward, firing due timers in order, letting promises run between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      const due = this.timers
        .filter((x) => x.at <= end)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.cb();
    }
    this.t = end;
    await flush();
  }
  pending(): number {
    return this.timers.length;
  }
}

export class FakeSocket {
  static all: FakeSocket[] = [];
  static get last(): FakeSocket {
    const s = FakeSocket.all[FakeSocket.all.length - 1];
    if (!s) throw new Error('no socket');
    return s;
  }
  sent: Record<string, unknown>[] = [];
  closed = false;
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(
    readonly url: string,
    readonly options?: unknown,
  ) {
    FakeSocket.all.push(this);
  }
  send(data: string): void {
    if (this.closed) throw new Error('closed');
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(): void {
    this.closed = true;
  }
  // --- server side ---
  open(): void {
    this.onopen?.();
  }
  push(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }
  drop(): void {
    this.closed = true;
    this.onclose?.();
  }
  actions(): string[] {
    return this.sent.map((f) => String(f.action));
  }
  lastSent(action: string): Record<string, unknown> {
    const f = [...this.sent].reverse().find((x) => x.action === action);
    if (!f) throw new Error(`no ${action} sent`);
    return f;
  }
  /** Answers the last configureSession. */
  session(body: Record<string, unknown> = {}): void {
    this.push({
      type: 'response',
      class: 'SessionResponse',
      code: 200,
      tracingId: this.lastSent('configureSession').tracingId,
      body: {
        connected: true,
        newSession: true,
        readOnly: false,
        maxCustomDataBytes: 2048,
        ...body,
      },
    });
  }
  jwt(): void {
    this.push({
      type: 'response',
      class: 'JwtResponse',
      code: 200,
      tracingId: this.lastSent('getJwt').tracingId,
      body: { jwt: 'the-jwt', exp: 4_000_000_000 },
    });
  }
  echo(id = 'srv-1', time = '2024-05-01T12:00:01.000Z'): void {
    const m = this.lastSent('onMessage');
    const msg = m.message as { text: string };
    this.push({
      type: 'message',
      class: 'StructuredMessage',
      code: 200,
      tracingId: m.tracingId,
      body: {
        id,
        direction: 'Inbound',
        type: 'Text',
        text: msg.text,
        channel: { time, messageId: 'mid' },
      },
    });
  }
}

export interface FakeContext extends TransportContext {
  store: OutboxStore;
  wakes: number;
  connectivity: boolean[];
  records: TranscriptRecord[];
  events: OutboxEvent[];
  logs: { level: string; message: string; context?: Record<string, unknown> }[];
  abort: AbortController;
}

export function fakeContext(clock: Clock, store: OutboxStore = memoryStore()): FakeContext {
  const abort = new AbortController();
  const logs: FakeContext['logs'] = [];
  const logger: Logger = {
    debug: (message, context) =>
      logs.push({ level: 'debug', message, ...(context ? { context } : {}) }),
    warn: (message, context) =>
      logs.push({ level: 'warn', message, ...(context ? { context } : {}) }),
    error: (message, context) =>
      logs.push({ level: 'error', message, ...(context ? { context } : {}) }),
  };
  const ctx: FakeContext = {
    store,
    clock,
    logger,
    random: () => 0.5,
    wakes: 0,
    connectivity: [],
    records: [],
    events: [],
    logs,
    abort,
    signal: abort.signal,
    wake: () => {
      ctx.wakes++;
    },
    reportConnectivity: (online) => {
      ctx.connectivity.push(online);
    },
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

/** A fetch that serves history pages from `pages` (newest first) or fails with `status`. */
export function historyFetch(state: {
  entities: unknown[];
  status?: number;
  calls: string[];
}): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    state.calls.push(
      `${url} ${String((init?.headers as Record<string, string> | undefined)?.Authorization)}`,
    );
    if (state.status !== undefined) return new Response('{}', { status: state.status });
    const u = new URL(url);
    const size = Number(u.searchParams.get('pageSize'));
    const n = Number(u.searchParams.get('pageNumber'));
    const entities = state.entities.slice((n - 1) * size, n * size);
    return new Response(
      JSON.stringify({
        entities,
        pageSize: size,
        pageNumber: n,
        total: state.entities.length,
        pageCount: Math.max(1, Math.ceil(state.entities.length / size)),
      }),
      { status: 200, headers: { 'content-type': 'application/json' } },
    );
  }) as typeof fetch;
}

/**
 * `transport.start(ctx)`, then waits (real timers) until the transport opened its socket: the
 * protocol client is a chunk that start() fetches without waiting for it (issue 15), so the
 * socket comes a few ticks after start() resolved.
 */
export async function startTransport(
  transport: Transport,
  ctx: TransportContext,
): Promise<FakeSocket> {
  const before = FakeSocket.all.length;
  await transport.start?.(ctx);
  return socketAfter(before);
}

/** Waits (real timers) until a socket beyond the first `before` was opened; returns it. */
export async function socketAfter(before: number): Promise<FakeSocket> {
  const deadline = Date.now() + 5000;
  while (FakeSocket.all.length <= before) {
    if (Date.now() > deadline) throw new Error('the transport opened no socket');
    await new Promise((r) => setTimeout(r, 1));
  }
  return FakeSocket.last;
}
