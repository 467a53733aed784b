import type { OutboxEvent } from '../outbox/events.js';

/** Callbacks the outbox hands to its coordinator. */
export interface CoordinatorHandlers {
  /** This instance became (true) or stopped being (false) the one sender for the outbox. */
  onLeadershipChange(isLeader: boolean): void;
  /** An outbox event (anything but `connectivity`) published by another instance (another tab). */
  onRemoteEvent(event: OutboxEvent): void;
  /** Another instance stored new work or was asked to flush: the leader should look now. */
  onWakeRequest(): void;
}

/**
 * One sender per origin (design rule 7). Only the leader drains; every instance writes to the
 * shared store and hears every status event.
 */
export interface Coordinator {
  start(handlers: CoordinatorHandlers): void;
  /**
   * May this instance send right now? The outbox asks before every pass and every wake, so a
   * coordinator can withdraw leadership without an `onLeadershipChange(false)` (a lease that ran
   * out); it calls `onWakeRequest` when it may send again without a change of leadership.
   */
  isLeader(): boolean;
  /**
   * Optional: settles once the coordinator made its first decision after `start` (a lease was
   * read: leader or standby). `createOutbox` waits for it, so that `flush()` right after opening
   * already knows whether this instance sends.
   */
  ready?(): Promise<void>;
  /** Publishes an outbox event to the other instances. */
  broadcast(event: OutboxEvent): void;
  /** Asks the leader to look at the store now. */
  requestWake(): void;
  close(): Promise<void>;
}

/** The coordinator for a single process (Node, tests, or `coordinator: false`): always leader. */
export function soloCoordinator(): Coordinator {
  let handlers: CoordinatorHandlers | undefined;
  return {
    start(h) {
      handlers = h;
      h.onLeadershipChange(true);
    },
    isLeader: () => handlers !== undefined,
    broadcast: () => {},
    requestWake: () => handlers?.onWakeRequest(),
    close: async () => {
      handlers = undefined;
    },
  };
}
