import type { Coordinator } from './Coordinator.js';

/**
 * A coordinator loaded on `start`. Until it is there this instance is not the leader, and
 * broadcasts and wake requests wait (in order) to be handed to it. If loading fails, the instance
 * never leads: better no sender here than two.
 */
export function lazyCoordinator(load: () => Promise<Coordinator>): Coordinator {
  let inner: Coordinator | undefined;
  let loading: Promise<Coordinator | undefined> = Promise.resolve(undefined);
  let closed = false;
  let started = false;
  const waiting: ((c: Coordinator) => void)[] = [];
  const call = (f: (c: Coordinator) => void): void => {
    if (inner) f(inner);
    else if (!closed) waiting.push(f);
  };
  return {
    start(handlers) {
      if (started) return;
      started = true;
      loading = load().then(
        (c) => {
          if (closed) return undefined;
          inner = c;
          c.start(handlers);
          for (const f of waiting.splice(0)) f(c);
          return c;
        },
        () => undefined,
      );
    },
    isLeader: () => inner?.isLeader() ?? false,
    broadcast: (event) => call((c) => c.broadcast(event)),
    requestWake: () => call((c) => c.requestWake()),
    async close() {
      closed = true;
      waiting.length = 0;
      await (await loading)?.close();
    },
  };
}
