import { soloCoordinator, type Coordinator } from './Coordinator.js';
import { leaseCoordinator } from './lease.js';
import { webLocksCoordinator } from './webLocks.js';

/**
 * The coordinator `createOutbox` uses by default: Web Locks where `navigator.locks` exists,
 * else an IndexedDB lease in a browser, else (Node, tests) the single-process one.
 */
export function defaultCoordinator(name: string): Coordinator {
  const g = globalThis as { window?: unknown; WorkerGlobalScope?: unknown };
  if (g.window === undefined && g.WorkerGlobalScope === undefined) return soloCoordinator();
  if (globalThis.navigator?.locks !== undefined) return webLocksCoordinator({ name });
  if (globalThis.indexedDB !== undefined) return leaseCoordinator({ name });
  return soloCoordinator();
}
