import type { CoordinatorHandlers } from './Coordinator.js';
import type { OutboxEvent } from '../outbox/events.js';

/** What goes over the `<name>:events` channel: a status event, a wake request, or "the leader left". */
type Message = { e: OutboxEvent } | { w: 1 } | { r: 1 };

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
  channel.onmessage = (ev: MessageEvent<Message>) => {
    const m = ev.data;
    if ('e' in m) handlers.onRemoteEvent(m.e);
    else if ('w' in m) {
      if (isLeader()) handlers.onWakeRequest();
    } else onReleased?.();
  };
  return {
    post(message) {
      try {
        channel.postMessage(message);
      } catch {
        // Closed channel or an uncloneable event: the other tabs miss one notification, nothing more.
      }
    },
    close: () => channel.close(),
  };
}
