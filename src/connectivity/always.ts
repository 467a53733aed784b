import type { Connectivity } from './Connectivity.js';

/**
 * Connectivity for Node and other hosts without online/offline events: always online. With an
 * `endpoint` (an absolute http(s)/ws(s) URL: the transport's), a network failure (`report(false)`)
 * starts a cheap probe of that host (a TCP connection in Node, every 500 ms, loaded on first
 * use) until it answers; then listeners get `true` and the outbox retries the entries that
 * waited for the network at once, instead of at the end of their backoff. Nothing is probed
 * before a failure: an idle outbox costs nothing. Without `endpoint`, `report()` is ignored and
 * backoff alone decides when to try again.
 */
export function alwaysOnline(endpoint?: string): Connectivity {
  const listeners = new Set<(online: boolean) => void>();
  // `again`: probe successes followed by another network failure (see probe.ts)
  const state = { probing: false, closed: false, again: 0 };
  return {
    isOnline: () => true,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    report(online) {
      if (online) state.again = 0;
      else if (endpoint && !state.probing) {
        state.probing = true;
        void import('./probe.js').then((m) => m.probeUntilUp(endpoint, state, listeners));
      }
    },
    close() {
      state.closed = true;
      listeners.clear();
    },
  };
}
