import type { CoordinatorHandlers } from './Coordinator.js';
import type { OutboxEvent } from '../outbox/events.js';

/** What goes over the `<name>:events` channel: a status event, a wake request, or "the leader left". */
type Message = { e: OutboxEvent } | { w: 1 } | { r: 1 };
/** On the wire, the events and wake requests of one tick travel as one message. */
type Wire = { es: OutboxEvent[]; w?: 1 } | { r: 1 };

/** The BroadcastChannel side shared by the coordinators (internal). */
export interface EventChannel {
  post(message: Message): void;
  close(): void;
}

/**
 * Opens `<name>:events` and routes incoming messages: events to every instance, wake requests
 * only to the leader, "released" to `onReleased` (the lease fallback retries at once).
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
  channel.onmessage = (ev: MessageEvent<Wire>) => {
    const m = ev.data;
    if ('r' in m) return onReleased?.();
    for (const e of m.es) handlers.onRemoteEvent(e);
    if (m.w === 1 && isLeader()) handlers.onWakeRequest();
  };
  let queued: { es: OutboxEvent[]; w?: 1 } | undefined;
  const send = (m: Wire) => {
    try {
      channel.postMessage(m);
    } catch {
      // Closed channel or an uncloneable event: the other tabs miss one notification, nothing more.
    }
  };
  return {
    post(message) {
      if ('r' in message) return send(message);
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
    close: () => channel.close(),
  };
}
