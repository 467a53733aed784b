import type { Coordinator } from './Coordinator.js';
import type { EventChannel } from './channel.js';
import { leaseCoordinator } from './leaseImpl.js';
import type { Clock } from '../internal/clock.js';
import { systemClock } from '../internal/clock.js';
import { uuid } from '../internal/uuid.js';

/**
 * A sender lease kept in the store itself (the SQLite file): one row `{ holder, until, wakes }`.
 * `acquire` is the {@link LeaseFunction} contract (take or renew for `holder` until `until` when
 * free, expired or already `holder`'s; `until = 0` gives it up) and also returns `wakes`, a
 * counter `wake()` bumps so that a standby can ask the holder to look at the store.
 */
export interface StoreLease {
  acquire(holder: string, until: number, now: number): Promise<{ held: boolean; wakes: number }>;
  wake(): Promise<void>;
}

/** Options of {@link storeLeaseCoordinator}. */
export interface StoreLeaseOptions {
  clock?: Clock;
  /** How often the holder renews and a standby looks. @default 1000 */
  renewMs?: number;
  /** A lease not renewed for this long is taken over. @default 3000 */
  ttlMs?: number;
}

/**
 * One sender per store shared by several processes (design rule 11: SQLite): the lease fallback
 * of the browser (`leaseImpl.ts`), its record in the store instead of IndexedDB. The holder
 * renews every `renewMs`; a standby takes over once the lease is `ttlMs` old (the holder died)
 * or within `renewMs` after the holder closed. Processes share no channel: a standby's wake
 * request is a counter in the lease row, which the holder reads at each renewal (so work stored
 * by a standby is sent within `renewMs`). Status events stay in the process that made them.
 */
export function storeLeaseCoordinator(
  lease: StoreLease,
  options: StoreLeaseOptions = {},
): Coordinator {
  let onWake: (() => void) | undefined;
  let seen: number | undefined;
  const channel = (isLeader: () => boolean, wakeHolder: () => void): EventChannel => {
    onWake = () => {
      if (isLeader()) wakeHolder();
    };
    return {
      post(message) {
        // Events and "released" have no one to reach; a wake request goes through the row.
        if ('w' in message) void lease.wake().catch(() => {});
      },
      close() {},
    };
  };
  return leaseCoordinator(
    {
      name: 'store',
      clock: options.clock ?? systemClock,
      ...(options.renewMs === undefined ? {} : { renewMs: options.renewMs }),
      ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
      lease: async (holder, until, now) => {
        const { held, wakes } = await lease.acquire(holder, until, now);
        const woken = seen !== undefined && wakes !== seen;
        seen = wakes;
        if (held && woken) queueMicrotask(() => onWake?.());
        return held;
      },
    },
    {
      openChannel: (_name, _bc, handlers, isLeader) =>
        channel(isLeader, () => handlers.onWakeRequest()),
      uuid,
      systemClock,
    },
  );
}
