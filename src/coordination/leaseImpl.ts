import type { Coordinator, CoordinatorHandlers } from './Coordinator.js';
import type { EventChannel, openChannel } from './channel.js';
import type { Clock } from '../internal/clock.js';

/**
 * Helpers handed over by `lease.ts`: `uuid` and `systemClock` are in the main bundle, and the
 * channel is a chunk shared with the Web Locks coordinator, so that this lazily loaded module
 * does not import them (a bundler would otherwise split them into extra shared chunks).
 */
export interface LeaseShared {
  openChannel: typeof openChannel;
  uuid: () => string;
  systemClock: Clock;
}

/**
 * Takes or renews the lease for `holder` until `until` (epoch ms) when it is free, expired
 * (`until` of the record `< now`) or already `holder`'s; `until = 0` gives it up if `holder` has it.
 * Resolves true when `holder` holds the lease afterwards.
 */
export type LeaseFunction = (holder: string, until: number, now: number) => Promise<boolean>;

/** Options for {@link leaseCoordinator}. */
export interface LeaseCoordinatorOptions {
  /** Namespace: database `<name>:lease`, channel `<name>:events`. */
  name: string;
  /** @default globalThis.indexedDB */
  indexedDB?: IDBFactory;
  /** Where the lease lives instead of the default IndexedDB record. */
  lease?: LeaseFunction;
  /** @default globalThis.BroadcastChannel */
  BroadcastChannel?: typeof BroadcastChannel;
  clock?: Clock;
  /** How often the holder renews and the others look. @default 1000 */
  renewMs?: number;
  /** A lease not renewed for this long is taken over. @default 3000 */
  ttlMs?: number;
}

/** The default lease: one record `{ holder, until }` in database `<name>:lease`. */
export function indexedDbLease(name: string, factory: IDBFactory): LeaseFunction {
  let db: Promise<IDBDatabase> | undefined;
  const open = () =>
    (db ??= new Promise((resolve, reject) => {
      const req = factory.open(`${name}:lease`, 1);
      req.onupgradeneeded = () => req.result.createObjectStore('lease');
      req.onsuccess = () => {
        req.result.onclose = () => (db = undefined);
        req.result.onversionchange = () => (req.result.close(), (db = undefined));
        resolve(req.result);
      };
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('blocked'));
    }));
  return async (holder, until, now) => {
    let tx: IDBTransaction;
    try {
      tx = (await open()).transaction('lease', 'readwrite');
    } catch (e: unknown) {
      db = undefined;
      throw e;
    }
    return new Promise<boolean>((resolve, reject) => {
      const store = tx.objectStore('lease');
      let ok = false;
      const get = store.get('l');
      get.onsuccess = () => {
        const rec = get.result as { holder: string; until: number } | undefined;
        const mine = rec?.holder === holder;
        if (until === 0) {
          if (mine) store.delete('l');
        } else if (rec === undefined || mine || rec.until < now) {
          store.put({ holder, until }, 'l');
          ok = true;
        }
      };
      tx.oncomplete = () => resolve(ok);
      tx.onerror = tx.onabort = () => reject(tx.error ?? new Error('aborted'));
    });
  };
}

/**
 * One sender per origin where `navigator.locks` is missing (Safari before 15.4): a lease record
 * in IndexedDB, renewed every `renewMs` by its holder and taken over by another tab once it is
 * `ttlMs` old. Slower to fail over than {@link webLocksCoordinator} (up to `ttlMs` after a crash;
 * at once after a clean close), same events over BroadcastChannel.
 */
export function leaseCoordinator(
  options: LeaseCoordinatorOptions,
  { openChannel, uuid, systemClock }: LeaseShared,
): Coordinator {
  const { name, clock = systemClock, renewMs = 1000, ttlMs = 3000 } = options;
  const lease = options.lease ?? indexedDbLease(name, options.indexedDB ?? globalThis.indexedDB);
  const id = uuid();
  let handlers: CoordinatorHandlers | undefined;
  let channel: EventChannel | undefined;
  let leader = false;
  let until = 0;
  let timer: unknown;
  let running: Promise<void> = Promise.resolve();

  const set = (value: boolean) => {
    if (value === leader) return;
    leader = value;
    handlers?.onLeadershipChange(value);
  };
  const tick = () => {
    clock.clearTimeout(timer);
    running = running.then(async () => {
      if (handlers === undefined) return;
      const now = clock.now();
      // Leader on paper, but the lease ran out before this renewal (throttled timers): the
      // outbox stopped sending meanwhile (isLeader), so tell it to look again once renewed.
      const lapsed = leader && until <= now;
      let ok = false;
      try {
        ok = await lease(id, now + ttlMs, now);
      } catch {
        // Storage trouble: better no sender for a moment than two.
      }
      if (handlers === undefined) return;
      until = ok ? now + ttlMs : 0;
      set(ok);
      if (ok && lapsed) handlers.onWakeRequest();
      timer = clock.setTimeout(tick, renewMs);
    });
  };

  return {
    start(h) {
      if (handlers !== undefined) return;
      handlers = h;
      channel = openChannel(
        name,
        options.BroadcastChannel ?? globalThis.BroadcastChannel,
        h,
        () => leader,
        tick,
      );
      tick();
    },
    // A holder whose renewals stalled (a throttled background tab) stops sending before its
    // lease can be taken over.
    isLeader: () => leader && clock.now() < until,
    // Settles once the first look at the lease (started by `start`) is done.
    ready: () => running,
    broadcast: (event) => channel?.post({ e: event }),
    requestWake() {
      if (leader) handlers?.onWakeRequest();
      else channel?.post({ w: 1 });
    },
    async close() {
      const h = handlers;
      if (h === undefined) return;
      handlers = undefined;
      clock.clearTimeout(timer);
      await running;
      const wasLeader = leader;
      leader = false;
      // Give the lease up even if a renewal raced with close(): the next tab need not wait ttlMs.
      await lease(id, 0, clock.now()).catch(() => false);
      channel?.post({ r: 1 });
      channel?.close();
      if (wasLeader) h.onLeadershipChange(false);
    },
  };
}
