// The coordinator behind `defaultCoordinator` in a browser (auto.ts): a chunk the outbox fetches
// when it starts the coordinator. Web Locks where they exist (their coordinator comes in this
// chunk); else the IndexedDB lease, fetched by `import()` only there (Safari before 15.4).
import type { Coordinator } from './Coordinator.js';
import type { Clock } from '../internal/clock.js';
import { webLocksCoordinator } from './webLocksImpl.js';

/** @internal What the first load lends, so that this chunk shares no module with it. */
export interface PickLib {
  uuid: () => string;
  systemClock: Clock;
  soloCoordinator: () => Coordinator;
}

/** @internal The coordinator for the outbox named `name` in this browser. */
export async function pickCoordinator(name: string, lib: PickLib): Promise<Coordinator> {
  if (globalThis.navigator?.locks !== undefined) return webLocksCoordinator({ name });
  if (globalThis.indexedDB === undefined) return lib.soloCoordinator();
  const [m, { openChannel }] = await Promise.all([
    import('./leaseImpl.js'),
    import('./channel.js'),
  ]);
  return m.leaseCoordinator(
    { name },
    { openChannel, uuid: lib.uuid, systemClock: lib.systemClock },
  );
}
