import type { Coordinator } from './Coordinator.js';
import { lazyCoordinator } from './lazy.js';
import { systemClock } from '../internal/clock.js';
import { uuid } from '../internal/uuid.js';
import type { LeaseCoordinatorOptions, LeaseFunction } from './leaseImpl.js';

export type { LeaseCoordinatorOptions, LeaseFunction } from './leaseImpl.js';

// The lease fallback only runs where Web Locks are missing (Safari before 15.4), so its code is
// loaded with `import()` when first used: the bundle every visitor downloads does not carry it.
const load = () => import('./leaseImpl.js');

/** The default lease: one record `{ holder, until }` in database `<name>:lease` (loaded on first use). */
export function indexedDbLease(name: string, factory: IDBFactory): LeaseFunction {
  let lease: Promise<LeaseFunction> | undefined;
  return async (holder, until, now) =>
    (await (lease ??= load().then((m) => m.indexedDbLease(name, factory))))(holder, until, now);
}

/**
 * One sender per origin where `navigator.locks` is missing (Safari before 15.4): a lease record
 * in IndexedDB, renewed every `renewMs` by its holder and taken over by another tab once it is
 * `ttlMs` old. Slower to fail over than {@link webLocksCoordinator} (up to `ttlMs` after a crash;
 * at once after a clean close), same events over BroadcastChannel. Its code is loaded on `start`;
 * until then this instance is not the leader, and its broadcasts and wake requests wait.
 */
export function leaseCoordinator(options: LeaseCoordinatorOptions): Coordinator {
  return lazyCoordinator(() =>
    Promise.all([load(), import('./channel.js')]).then(([m, { openChannel }]) =>
      m.leaseCoordinator(options, { openChannel, uuid, systemClock }),
    ),
  );
}
