import type { Coordinator, CoordinatorHandlers } from './Coordinator.js';

/**
 * A coordinator loaded on `start` (a chunk the outbox starts fetching as it opens). Until it is
 * there this instance is not the leader, and broadcasts and wake requests wait (in order) to be
 * handed to it. If loading fails, the instance does not lead (better no sender here than two);
 * the next time the outbox asks whether it leads (its next wake: coming online, a new message,
 * `flush()`) the chunk is fetched again.
 */
export function lazyCoordinator(load: () => Promise<Coordinator>): Coordinator {
  let inner: Coordinator | undefined;
  let loading: Promise<Coordinator | undefined> = Promise.resolve(undefined);
  let closed = false;
  /** Set by `start`; kept while the chunk could not be fetched (a later ask fetches it again). */
  let handlers: CoordinatorHandlers | undefined;
  let failed = false;
  const waiting: ((c: Coordinator) => void)[] = [];
  const call = (f: (c: Coordinator) => void): void => {
    if (inner) f(inner);
    else if (!closed) waiting.push(f);
  };
  const begin = (h: CoordinatorHandlers): void => {
    loading = load().then(
      (c) => {
        if (closed) return undefined;
        inner = c;
        c.start(h);
        for (const f of waiting.splice(0)) f(c);
        return c;
      },
      () => {
        failed = true;
        return undefined;
      },
    );
  };
  return {
    start(h) {
      if (handlers) return;
      handlers = h;
      begin(h);
    },
    isLeader() {
      if (failed && !closed && handlers) {
        failed = false;
        begin(handlers);
      }
      return inner?.isLeader() ?? false;
    },
    broadcast: (event) => call((c) => c.broadcast(event)),
    requestWake: () => call((c) => c.requestWake()),
    async close() {
      closed = true;
      waiting.length = 0;
      await (await loading)?.close();
    },
  };
}
