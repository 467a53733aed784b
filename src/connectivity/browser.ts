import type { Connectivity } from './Connectivity.js';
import { systemClock, type Clock } from '../internal/clock.js';
import type * as ProbeChunk from './browserProbe.js';

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
 * cache, since timers may have been frozen meanwhile. The probe and the wake-ups are a chunk
 * (browserProbe.ts) fetched at once; until it arrives the online/offline events alone count.
 *
 * @example
 * const outbox = await createOutbox({ transport, connectivity: browserConnectivity({ probeUrl: '/ping' }) });
 */
export function browserConnectivity(options: BrowserConnectivityOptions = {}): Connectivity {
  return browserShell(options, () => import('./browserProbe.js'));
}

/**
 * @internal {@link browserConnectivity} with the probe chunk's loader given (tests pass one that
 * is already there, or one that fails). A chunk that could not be fetched is fetched again at the
 * next transport failure while the browser claims online (the only time the probe is needed).
 */
export function browserShell(
  options: BrowserConnectivityOptions,
  load: () => Promise<typeof ProbeChunk>,
): Connectivity {
  const win = options.window ?? globalThis.window;
  const nav = () => win.navigator?.onLine !== false;
  const listeners = new Set<(online: boolean) => void>();
  let online = nav();
  let closed = false;
  let extra: ProbeChunk.BrowserProbe | undefined;
  let loading: Promise<void> | undefined;

  const emit = () => {
    for (const l of [...listeners]) l(online);
  };
  const set = (value: boolean) => {
    extra?.stop();
    if (value === online) return;
    online = value;
    emit();
  };
  const onOnline = () => set(true);
  const onOffline = () => set(false);
  const fetchExtra = () =>
    (loading ??= load().then(
      (m) => {
        if (!closed) {
          const host = { win, nav, set, emit, online: () => online, closed: () => closed };
          extra = m.browserProbe(options, host, options.clock ?? systemClock);
        }
      },
      () => (loading = undefined),
    ));
  win.addEventListener('online', onOnline);
  win.addEventListener('offline', onOffline);
  void fetchExtra();

  return {
    isOnline: () => online,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    report(value) {
      if (closed) return;
      if (value || !nav()) return set(value);
      if (extra) extra.suspect();
      else void fetchExtra();
    },
    close() {
      closed = true;
      extra?.close();
      listeners.clear();
      win.removeEventListener('online', onOnline);
      win.removeEventListener('offline', onOffline);
    },
  };
}
