// The Web Locks coordinator behind `webLocksCoordinator` (webLocks.ts): a chunk the outbox
// fetches when it starts the coordinator, not in the first load.
import type { Coordinator, CoordinatorHandlers } from './Coordinator.js';
import { openChannel, type EventChannel } from './channel.js';
import type { WebLocksCoordinatorOptions } from './webLocks.js';

/** See {@link WebLocksCoordinatorOptions} and `webLocksCoordinator` in webLocks.ts. */
export function webLocksCoordinator(options: WebLocksCoordinatorOptions): Coordinator {
  const { name } = options;
  const locks = options.locks ?? globalThis.navigator.locks;
  const abort = new AbortController();
  let handlers: CoordinatorHandlers | undefined;
  let channel: EventChannel | undefined;
  let leader = false;
  let release: (() => void) | undefined;
  let held: Promise<unknown> = Promise.resolve();

  return {
    start(h) {
      if (handlers !== undefined) return;
      handlers = h;
      channel = openChannel(
        name,
        options.BroadcastChannel ?? globalThis.BroadcastChannel,
        h,
        () => leader,
      );
      held = locks
        .request(`${name}:sender`, { signal: abort.signal }, () => {
          if (abort.signal.aborted) return undefined;
          leader = true;
          h.onLeadershipChange(true);
          // Held until close(); a closed or crashed tab releases it by itself.
          return new Promise<void>((resolve) => (release = resolve));
        })
        .catch(() => {
          // AbortError from close() while still queued: nothing to release.
        });
    },
    isLeader: () => leader,
    broadcast: (event) => channel?.post({ e: event }),
    requestWake() {
      if (leader) handlers?.onWakeRequest();
      else channel?.post({ w: 1 });
    },
    async close() {
      abort.abort();
      channel?.close();
      const h = handlers;
      const wasLeader = leader;
      leader = false;
      release?.();
      release = undefined;
      handlers = undefined;
      if (wasLeader) h?.onLeadershipChange(false);
      await held;
    },
  };
}
