import { describe, expect, it, vi } from 'vitest';
import { browserConnectivity, browserShell } from '../../src/connectivity/browser.js';
import * as probeChunk from '../../src/connectivity/browserProbe.js';
import type { BrowserConnectivityOptions } from '../../src/connectivity/browser.js';
import { alwaysOnline } from '../../src/connectivity/always.js';
import { defaultConnectivity } from '../../src/connectivity/auto.js';
import type { Clock } from '../../src/internal/clock.js';

/** A stand-in for `window`: an EventTarget with a settable navigator.onLine and a document. */
function fakeWindow(onLine = true) {
  const win = new EventTarget() as EventTarget & {
    navigator: { onLine: boolean };
    document: EventTarget & { visibilityState: 'visible' | 'hidden' };
  };
  win.navigator = { onLine };
  win.document = Object.assign(new EventTarget(), { visibilityState: 'visible' as const });
  const go = (online: boolean) => {
    win.navigator.onLine = online;
    win.dispatchEvent(new Event(online ? 'online' : 'offline'));
  };
  const show = (state: 'visible' | 'hidden') => {
    win.document.visibilityState = state;
    win.document.dispatchEvent(new Event('visibilitychange'));
  };
  return { win, go, show, asWindow: win as unknown as Window };
}

function manualClock(): Clock & { advance(ms: number): void; pending(): number } {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let ids = 0;
  return {
    now: () => now,
    setTimeout(fn, ms) {
      timers.push({ at: now + ms, fn, id: ++ids });
      return ids;
    },
    clearTimeout(h) {
      timers = timers.filter((t) => t.id !== h);
    },
    advance(ms) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.fn();
    },
    pending: () => timers.length,
  };
}

/** A fetch whose answers the test decides, one call at a time. */
function fakeFetch() {
  const calls: { url: string; init: RequestInit | undefined; ok: () => void; fail: () => void }[] =
    [];
  const fetch = ((url: string, init?: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      calls.push({
        url,
        init,
        ok: () => resolve(new Response(null, { status: 204 })),
        fail: () => reject(new TypeError('Failed to fetch')),
      });
    })) as unknown as typeof globalThis.fetch;
  return { fetch, calls };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

/** browserConnectivity once its probe chunk (browserProbe.ts) is there. */
async function withProbe(options: BrowserConnectivityOptions) {
  const c = browserShell(options, () => Promise.resolve(probeChunk));
  await flush();
  return c;
}

describe('browserConnectivity', () => {
  it('starts from navigator.onLine and follows online/offline events', () => {
    const w = fakeWindow(false);
    const c = browserConnectivity({ window: w.asWindow });
    const seen: boolean[] = [];
    c.subscribe((v) => seen.push(v));
    expect(c.isOnline()).toBe(false);
    w.go(true);
    w.go(false);
    w.go(false); // no change, no event
    w.go(true);
    expect(seen).toEqual([true, false, true]);
    expect(c.isOnline()).toBe(true);
    c.close?.();
  });

  it('stops notifying after unsubscribe and after close', () => {
    const w = fakeWindow();
    const c = browserConnectivity({ window: w.asWindow });
    const a: boolean[] = [];
    const b: boolean[] = [];
    const off = c.subscribe((v) => a.push(v));
    c.subscribe((v) => b.push(v));
    w.go(false);
    off();
    w.go(true);
    c.close?.();
    w.go(false);
    expect(a).toEqual([false]);
    expect(b).toEqual([false, true]);
    expect(c.isOnline()).toBe(true);
  });

  it('wakes listeners (with true) when the page becomes visible or is shown again', async () => {
    const w = fakeWindow();
    const c = await withProbe({ window: w.asWindow });
    const seen: boolean[] = [];
    c.subscribe((v) => seen.push(v));
    w.show('hidden');
    expect(seen).toEqual([]);
    w.show('visible');
    w.win.dispatchEvent(new Event('pageshow'));
    expect(seen).toEqual([true, true]);
    c.close?.();
  });

  it('without a probe: a transport failure only counts when the browser agrees it is offline', () => {
    const w = fakeWindow();
    const c = browserConnectivity({ window: w.asWindow });
    const seen: boolean[] = [];
    c.subscribe((v) => seen.push(v));
    c.report?.(false);
    expect(c.isOnline()).toBe(true);
    w.win.navigator.onLine = false; // before the event arrives
    c.report?.(false);
    expect(c.isOnline()).toBe(false);
    c.report?.(true); // a success proves online
    expect(c.isOnline()).toBe(true);
    expect(seen).toEqual([false, true]);
    c.close?.();
  });

  it('with a probe: a failure marks offline until the probe answers, probing once per interval', async () => {
    const w = fakeWindow();
    const clock = manualClock();
    const f = fakeFetch();
    const c = await withProbe({
      window: w.asWindow,
      clock,
      fetch: f.fetch,
      probeUrl: '/ping',
      probeIntervalMs: 1000,
    });
    const seen: boolean[] = [];
    c.subscribe((v) => seen.push(v));
    c.report?.(false);
    c.report?.(false); // already suspected: no second probe chain
    expect(c.isOnline()).toBe(false);
    expect(clock.pending()).toBe(1);
    clock.advance(999);
    expect(f.calls).toHaveLength(0);
    clock.advance(1);
    expect(f.calls.map((x) => [x.url, x.init?.method, x.init?.cache])).toEqual([
      ['/ping', 'HEAD', 'no-store'],
    ]);
    f.calls[0]?.fail();
    await flush();
    expect(c.isOnline()).toBe(false);
    clock.advance(1000);
    expect(f.calls).toHaveLength(2);
    f.calls[1]?.ok();
    await flush();
    expect(c.isOnline()).toBe(true);
    expect(seen).toEqual([false, true]);
    expect(clock.pending()).toBe(0);
    c.close?.();
  });

  it('with a probe: stops probing when the browser goes offline and recovers on its online event', async () => {
    const w = fakeWindow();
    const clock = manualClock();
    const f = fakeFetch();
    const c = await withProbe({ window: w.asWindow, clock, fetch: f.fetch, probeUrl: '/p' });
    c.report?.(false);
    w.go(false);
    expect(clock.pending()).toBe(0);
    clock.advance(60_000);
    expect(f.calls).toHaveLength(0);
    w.go(true);
    expect(c.isOnline()).toBe(true);
    c.close?.();
  });

  it('with a probe: becoming visible while offline is suspected probes at once', async () => {
    const w = fakeWindow();
    const clock = manualClock();
    const f = fakeFetch();
    const c = await withProbe({ window: w.asWindow, clock, fetch: f.fetch, probeUrl: '/p' });
    c.report?.(false);
    w.show('visible');
    clock.advance(0);
    expect(f.calls).toHaveLength(1);
    c.close?.();
    expect(clock.pending()).toBe(0);
  });

  it('a transport success cancels a pending probe', async () => {
    const w = fakeWindow();
    const clock = manualClock();
    const f = fakeFetch();
    const c = await withProbe({ window: w.asWindow, clock, fetch: f.fetch, probeUrl: '/p' });
    c.report?.(false);
    c.report?.(true);
    expect(c.isOnline()).toBe(true);
    expect(clock.pending()).toBe(0);
    clock.advance(10_000);
    expect(f.calls).toHaveLength(0);
    c.close?.();
  });
});

describe('browserConnectivity: the probe chunk (issue 15)', () => {
  it('before the chunk arrives it answers navigator.onLine, follows online/offline and a success; after it, the probe and wake-ups work', async () => {
    const w = fakeWindow();
    const clock = manualClock();
    const f = fakeFetch();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const c = browserShell({ window: w.asWindow, clock, fetch: f.fetch, probeUrl: '/p' }, () =>
      gate.then(() => probeChunk),
    );
    const seen: boolean[] = [];
    c.subscribe((v) => seen.push(v));
    expect(c.isOnline()).toBe(true);
    w.go(false);
    expect(c.isOnline()).toBe(false);
    w.go(true);
    c.report?.(false); // the browser claims online: no probe yet, nothing changes
    expect(c.isOnline()).toBe(true);
    w.show('visible'); // no wake-up before the chunk
    w.win.navigator.onLine = false;
    c.report?.(false); // the browser agrees: offline
    w.win.navigator.onLine = true;
    c.report?.(true);
    expect(seen).toEqual([false, true, false, true]);
    expect(clock.pending()).toBe(0);

    open();
    await flush();
    w.show('visible');
    expect(seen).toEqual([false, true, false, true, true]);
    c.report?.(false);
    expect(c.isOnline()).toBe(false);
    clock.advance(5000);
    expect(f.calls).toHaveLength(1);
    f.calls[0]?.ok();
    await flush();
    expect(c.isOnline()).toBe(true);
    c.close?.();
    expect(clock.pending()).toBe(0);
  });

  it('a chunk that could not be fetched is fetched again at the next failure while online', async () => {
    const w = fakeWindow();
    const clock = manualClock();
    let loads = 0;
    const c = browserShell({ window: w.asWindow, clock, probeUrl: '/p' }, () =>
      ++loads === 1
        ? Promise.reject(new TypeError('Failed to fetch'))
        : Promise.resolve(probeChunk),
    );
    await flush();
    expect(loads).toBe(1);
    c.report?.(false); // not there: fetched again, this failure changes nothing
    expect(loads).toBe(2);
    expect(c.isOnline()).toBe(true);
    await flush();
    c.report?.(false);
    expect(c.isOnline()).toBe(false);
    expect(clock.pending()).toBe(1);
    c.close?.();
    expect(clock.pending()).toBe(0);
  });

  it('closed before the chunk arrived: it attaches nothing', async () => {
    const w = fakeWindow();
    const add = vi.spyOn(w.win, 'addEventListener');
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const c = browserShell({ window: w.asWindow }, () => gate.then(() => probeChunk));
    c.close?.();
    open();
    await flush();
    expect(add.mock.calls.map((x) => x[0])).toEqual(['online', 'offline']);
  });

  it('the real chunk arrives by itself', async () => {
    const w = fakeWindow();
    const c = browserConnectivity({ window: w.asWindow });
    const seen: boolean[] = [];
    c.subscribe((v) => seen.push(v));
    await vi.waitFor(() => {
      w.win.dispatchEvent(new Event('pageshow'));
      expect(seen.length).toBeGreaterThan(0);
    });
    c.close?.();
  });
});

describe('alwaysOnline', () => {
  it('is online whatever is reported', () => {
    const c = alwaysOnline();
    const listener = vi.fn();
    c.subscribe(listener);
    c.report?.(false);
    expect(c.isOnline()).toBe(true);
    expect(listener).not.toHaveBeenCalled();
  });
});

describe('defaultConnectivity', () => {
  it('is always online in Node', () => {
    const c = defaultConnectivity();
    c.report?.(false);
    expect(c.isOnline()).toBe(true);
  });
});
