import type { Dispatcher, DispatcherHost } from './dispatcher.js';

type Mode = Parameters<Dispatcher['wake']>[0];

/**
 * The drain loop, fetched as a chunk as soon as the outbox starts (not awaited: `send()` commits
 * to the store without it; the first load carries only the durable write path). Wakes that come
 * before it is there are kept (one per mode) and handed to it when it arrives. If the chunk
 * cannot be fetched (the network dropped in between), the next wake (coming online, `flush()`,
 * a new entry) fetches it again.
 */
export function lazyDispatcher(host: DispatcherHost): Dispatcher {
  let inner: Dispatcher | undefined;
  let loading: Promise<void> | undefined;
  let stopped = false;
  const modes = new Set<Mode>();
  const load = (): Promise<void> =>
    (loading ??= import('./dispatcher.js').then(
      (m) => {
        if (stopped) return;
        const d = (inner = m.createDispatcher(host));
        for (const mode of modes) d.wake(mode);
        modes.clear();
      },
      (error: unknown) => {
        loading = undefined;
        host.logger.warn('drain not loaded', { error: String(error) });
      },
    ));
  const wake = (mode?: Mode): void => {
    if (inner) inner.wake(mode);
    else if (!stopped) {
      modes.add(mode ?? 'normal');
      void load();
    }
  };
  void load();
  return {
    wake,
    wakeFor: (conversationId) => (inner ? inner.wakeFor(conversationId) : wake()),
    async idle() {
      if (!inner && !stopped) await load();
      await inner?.idle();
    },
    stop() {
      stopped = true; // what waited for the chunk is not handed on now (see load)
      inner?.stop();
    },
  };
}
