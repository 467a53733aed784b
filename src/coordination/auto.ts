import { soloCoordinator, type Coordinator } from './Coordinator.js';
import { lazyCoordinator } from './lazy.js';
import { systemClock } from '../internal/clock.js';
import { uuid } from '../internal/uuid.js';

/**
 * The coordinator `createOutbox` uses by default: Web Locks where `navigator.locks` exists,
 * else an IndexedDB lease in a browser, else (Node, tests) the single-process one. In a browser
 * the choice is made by a chunk (pick.ts) fetched when the outbox starts the coordinator.
 */
export function defaultCoordinator(name: string): Coordinator {
  const g = globalThis as { window?: unknown; WorkerGlobalScope?: unknown };
  if (g.window === undefined && g.WorkerGlobalScope === undefined) return soloCoordinator();
  return lazyCoordinator(() =>
    import('./pick.js').then((m) =>
      m.pickCoordinator(name, { uuid, systemClock, soloCoordinator }),
    ),
  );
}
