import type { Coordinator } from './Coordinator.js';
import { lazyCoordinator } from './lazy.js';

/** Options for {@link webLocksCoordinator}. */
export interface WebLocksCoordinatorOptions {
  /** Namespace: the lock is `<name>:sender`, the channel `<name>:events`. */
  name: string;
  /** @default navigator.locks */
  locks?: LockManager;
  /** @default globalThis.BroadcastChannel */
  BroadcastChannel?: typeof BroadcastChannel;
}

/**
 * One sender per origin with the Web Locks API (design rule 7). Every instance requests the
 * exclusive lock `<name>:sender` and holds it until `close()` (never `steal`); the others wait in
 * the lock's queue, so when the leader's tab closes or crashes the browser hands the lock to the
 * next one at once. Status events and wake requests travel over BroadcastChannel `<name>:events`.
 * Its code (with the channel's) is a chunk fetched on `start`; until it is there this instance is
 * not the leader, and its broadcasts and wake requests wait.
 *
 * @example
 * const outbox = await createOutbox({ transport, coordinator: webLocksCoordinator({ name: 'chat' }) });
 */
export function webLocksCoordinator(options: WebLocksCoordinatorOptions): Coordinator {
  return lazyCoordinator(() =>
    import('./webLocksImpl.js').then((m) => m.webLocksCoordinator(options)),
  );
}
