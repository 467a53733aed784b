// What `browserConnectivity` adds to the browser's online/offline events: the probe of
// `probeUrl` after a transport failure, and the wake-ups when the page becomes visible again or is
// restored from the back/forward cache. A chunk fetched as soon as the connectivity is created
// (issue 15): until it is there, the first load follows `navigator.onLine` and its events, and a
// failure while the browser claims online changes nothing (as without `probeUrl`).
import type { Clock } from '../internal/clock.js';
import type { BrowserConnectivityOptions } from './browser.js';

/** @internal What the first load (browser.ts) lends: its window, its state and its setter. */
export interface ProbeHost {
  win: Window;
  /** `navigator.onLine`, read now. */
  nav(): boolean;
  /** The state the listeners were last told. */
  online(): boolean;
  /** Changes the state (telling the listeners if it changed) and stops a probe. */
  set(online: boolean): void;
  /** Tells the listeners the current state again (a wake-up). */
  emit(): void;
  closed(): boolean;
}

/** @internal The probe and the wake-ups of one `browserConnectivity`. */
export interface BrowserProbe {
  /** A transport failure while the browser claims online. */
  suspect(): void;
  stop(): void;
  close(): void;
}

/** @internal `clock` is the option or the first load's `systemClock`. */
export function browserProbe(
  options: BrowserConnectivityOptions,
  h: ProbeHost,
  clock: Clock,
): BrowserProbe {
  const { probeUrl, probeIntervalMs = 5000 } = options;
  const doFetch = options.fetch ?? ((...a: Parameters<typeof fetch>) => globalThis.fetch(...a));
  const win = h.win;
  let timer: unknown;
  let probing = false;

  const stop = () => {
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
    if (h.closed() || !probing || !h.nav()) return stop();
    doFetch(probeUrl as string, { method: 'HEAD', cache: 'no-store' }).then(
      () => probing && !h.closed() && h.set(true),
      () => probing && !h.closed() && schedule(probeIntervalMs),
    );
  };
  const onWake = () => {
    if (h.closed() || win.document?.visibilityState === 'hidden') return;
    if (!h.nav()) return h.set(false);
    if (h.online()) return h.emit();
    // Suspected offline: timers may have been frozen, so look now.
    if (probeUrl !== undefined) schedule(0);
    else h.set(true);
  };
  const events: [EventTarget, string][] = [[win, 'pageshow']];
  if (win.document !== undefined) events.push([win.document, 'visibilitychange']);
  for (const [t, n] of events) t.addEventListener(n, onWake);

  return {
    suspect() {
      if (probeUrl === undefined || probing) return;
      // The browser claims online but the transport could not get through: suspect offline and
      // let the probe decide. The first probe waits an interval, so that a probe which succeeds
      // while the service stays unreachable cannot turn into a tight retry loop.
      h.set(false);
      schedule(probeIntervalMs);
    },
    stop,
    close() {
      stop();
      for (const [t, n] of events) t.removeEventListener(n, onWake);
    },
  };
}
