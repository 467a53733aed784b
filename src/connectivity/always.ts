import type { Connectivity } from './Connectivity.js';

/**
 * Connectivity for Node and other hosts without online/offline events: always online.
 * `report()` is accepted and ignored, because nothing here could say when the network is back:
 * failed attempts are handled by backoff instead.
 */
export function alwaysOnline(): Connectivity {
  return { isOnline: () => true, subscribe: () => () => {}, report: () => {}, close: () => {} };
}
