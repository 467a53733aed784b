import type { Connectivity } from './Connectivity.js';
import { systemClock, type Clock } from '../internal/clock.js';

/** Options for {@link browserConnectivity}. */
export interface BrowserConnectivityOptions {
  /**
   * A URL on your origin (or CORS-enabled) that answers quickly. When a transport reports a
   * network failure while the browser claims to be online, it is fetched to decide; any HTTP
   * answer means online. Without it, a failure while `navigator.onLine` is true changes nothing
   * (the retry backoff takes care of it) and only the browser's own signals count.
   */
  probeUrl?: string;
  /** Time between probes while offline is suspected. @default 5000 */
  probeIntervalMs?: number;
  /** Event source and `navigator`/`document` host. @default globalThis.window */
  window?: Window;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  clock?: Clock;
}

/**
 * "Can we reach the network?" in a browser: `navigator.onLine` and its `online`/`offline`
 * events, evidence from the transport (`report`), an optional probe, and a wake-up (listeners
 * called with `true`) when the page becomes visible again or is restored from the back/forward
 * cache, since timers may have been frozen meanwhile.
 *
 * @example
 * const outbox = await createOutbox({ transport, connectivity: browserConnectivity({ probeUrl: '/ping' }) });
 */
export function browserConnectivity(options: BrowserConnectivityOptions = {}): Connectivity {
  const win = options.window ?? globalThis.window;
  const { probeUrl, probeIntervalMs = 5000, clock = systemClock } = options;
  const doFetch = options.fetch ?? ((...a: Parameters<typeof fetch>) => globalThis.fetch(...a));
  const nav = () => win.navigator?.onLine !== false;
  const listeners = new Set<(online: boolean) => void>();
  let online = nav();
  let timer: unknown;
  let probing = false;
  let closed = false;

  const emit = () => {
    for (const l of [...listeners]) l(online);
  };
  const set = (value: boolean) => {
    if (value) stopProbe();
    if (value === online) return;
    online = value;
    emit();
  };
  const stopProbe = () => {
    probing = false;
    clock.clearTimeout(timer);
  };
  const schedule = (delay: number) => {
    probing = true;
    clock.clearTimeout(timer);
    timer = clock.setTimeout(probe, delay);
  };
  const probe = () => {
    // While the browser says offline, its `online` event is what we wait for.
    if (closed || !probing || !nav()) return stopProbe();
    doFetch(probeUrl as string, { method: 'HEAD', cache: 'no-store' }).then(
      () => probing && !closed && set(true),
      () => probing && !closed && schedule(probeIntervalMs),
    );
  };
  const onOffline = () => {
    stopProbe();
    set(false);
  };
  const onWake = () => {
    if (closed || win.document?.visibilityState === 'hidden') return;
    if (!nav()) return onOffline();
    if (online) return emit();
    // Suspected offline: timers may have been frozen, so look now.
    if (probeUrl !== undefined) schedule(0);
    else set(true);
  };
  const events: [EventTarget, string, () => void][] = [
    [win, 'online', () => set(true)],
    [win, 'offline', onOffline],
    [win, 'pageshow', onWake],
  ];
  if (win.document !== undefined) events.push([win.document, 'visibilitychange', onWake]);
  for (const [t, n, f] of events) t.addEventListener(n, f);

  return {
    isOnline: () => online,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    report(value) {
      if (closed) return;
      if (value) return set(true);
      if (!nav()) return onOffline();
      if (probeUrl === undefined || probing) return;
      // The browser claims online but the transport could not get through: suspect offline and
      // let the probe decide. The first probe waits an interval, so that a probe which succeeds
      // while the service stays unreachable cannot turn into a tight retry loop.
      set(false);
      schedule(probeIntervalMs);
    },
    close() {
      closed = true;
      stopProbe();
      listeners.clear();
      for (const [t, n, f] of events) t.removeEventListener(n, f);
    },
  };
}
