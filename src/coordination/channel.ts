import type { CoordinatorHandlers } from './Coordinator.js';
import type { OutboxEvent } from '../outbox/events.js';

/** What goes over the `<name>:events` channel: a status event, a wake request, or "the leader left". */
type Message = { e: OutboxEvent } | { w: 1 } | { r: 1 };
/**
 * On the wire: `f` names the sending instance. The events and wake requests of one tick travel as
 * one message (`es`, `w`); `r`: the lease was released; `h`: hello, I just opened (everyone
 * answers `p`, present); `b`: bye, I closed.
 */
interface Wire {
  f: string;
  es?: OutboxEvent[];
  w?: 1;
  r?: 1;
  h?: 1;
  p?: 1;
  b?: 1;
}

/**
 * For this long after opening, status events are kept while no other instance has answered the
 * hello yet (the answers are on their way) and posted when the first one does: a tab that sends
 * at once still reaches the tabs that were already open, and a lone tab posts nothing.
 */
export const HELLO_GRACE_MS = 1000;

/** The BroadcastChannel side shared by the coordinators (internal). */
export interface EventChannel {
  post(message: Message): void;
  close(): void;
}

/**
 * Opens `<name>:events` and routes incoming messages: events to every instance, wake requests
 * only to the leader, "released" to `onReleased` (the lease fallback retries at once).
 * Status events are posted only while another instance is known to listen (it said hello, or
 * answered ours, and has not said bye), so a page with one tab pays no `postMessage` per send.
 * Those of the first second (`HELLO_GRACE_MS`) wait for the first answer instead.
 * Without BroadcastChannel (very old browsers) the tabs simply do not hear each other.
 */
export function openChannel(
  name: string,
  BC: typeof BroadcastChannel | undefined,
  handlers: CoordinatorHandlers,
  isLeader: () => boolean,
  onReleased?: () => void,
): EventChannel {
  if (BC === undefined) return { post: () => {}, close: () => {} };
  const channel = new BC(`${name}:events`);
  const f = Math.random().toString(36).slice(2);
  const peers = new Set<string>();
  const graceUntil = Date.now() + HELLO_GRACE_MS;
  /** Events of the grace period, until someone answers; dropped once it is over. */
  let early: OutboxEvent[] = [];
  const send = (m: Omit<Wire, 'f'>) => {
    try {
      channel.postMessage({ ...m, f });
    } catch {
      // Closed channel or an uncloneable event: the other tabs miss one notification, nothing more.
    }
  };
  channel.onmessage = (ev: MessageEvent<Wire>) => {
    const m = ev.data;
    if (m.b) peers.delete(m.f);
    else {
      peers.add(m.f);
      // Someone listens: what waited for an answer goes now (if it still is the first second).
      if (early[0] && Date.now() < graceUntil) send({ es: early });
      early = [];
    }
    if (m.h) send({ p: 1 });
    if (m.r) onReleased?.();
    for (const e of m.es ?? []) handlers.onRemoteEvent(e);
    if (m.w && isLeader()) handlers.onWakeRequest();
  };
  send({ h: 1 });
  let queued: { es: OutboxEvent[]; w?: 1 } | undefined;
  return {
    post(message) {
      if ('r' in message) return send(message);
      if ('e' in message && peers.size === 0) {
        // Nobody listens (yet): kept for an answer within the grace period, else dropped.
        if (Date.now() < graceUntil) early.push(message.e);
        else early = [];
        return;
      }
      // A burst of sends (group commit) becomes one message, not one per entry.
      if (queued === undefined) {
        queued = { es: [] };
        queueMicrotask(() => {
          const m = queued;
          queued = undefined;
          if (m !== undefined) send(m);
        });
      }
      if ('e' in message) queued.es.push(message.e);
      else queued.w = 1;
    },
    close() {
      send({ b: 1 });
      channel.close();
    },
  };
}
