import { afterEach, describe, expect, it, vi } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import { webLocksCoordinator } from '../../src/coordination/webLocks.js';
import { HELLO_GRACE_MS } from '../../src/coordination/channel.js';
import { leaseCoordinator, type LeaseFunction } from '../../src/coordination/lease.js';
import { defaultCoordinator } from '../../src/coordination/auto.js';
import type { Coordinator, CoordinatorHandlers } from '../../src/coordination/Coordinator.js';
import type { OutboxEvent } from '../../src/outbox/events.js';
import type { Clock } from '../../src/internal/clock.js';

/** An in-memory LockManager: exclusive locks granted in request order, abortable while queued. */
function fakeLocks(): LockManager & { holders(): string[]; queued(): number } {
  const held = new Set<string>();
  const queues = new Map<string, (() => void)[]>();
  const next = (name: string) => {
    if (held.has(name)) return;
    const run = queues.get(name)?.shift();
    run?.();
  };
  const request = (name: string, options: LockOptions, callback: LockGrantedCallback<unknown>) =>
    new Promise((resolve, reject) => {
      const grant = () => {
        held.add(name);
        options.signal?.removeEventListener('abort', onAbort);
        Promise.resolve()
          .then(() => callback({ name, mode: 'exclusive' } as Lock))
          .then(resolve, reject)
          .finally(() => {
            held.delete(name);
            next(name);
          });
      };
      const onAbort = () => {
        const q = queues.get(name) ?? [];
        q.splice(q.indexOf(grant), 1);
        reject(new DOMException('aborted', 'AbortError'));
      };
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort);
      queues.set(name, [...(queues.get(name) ?? []), grant]);
      next(name);
    });
  return {
    request: request as LockManager['request'],
    query: () => Promise.resolve({ held: [], pending: [] }),
    holders: () => [...held],
    queued: () => [...queues.values()].reduce((n, q) => n + q.length, 0),
  };
}

interface Recorder extends CoordinatorHandlers {
  leadership: boolean[];
  events: OutboxEvent[];
  wakes: number;
}
function recorder(): Recorder {
  const r: Recorder = {
    leadership: [],
    events: [],
    wakes: 0,
    onLeadershipChange: (v) => r.leadership.push(v),
    onRemoteEvent: (e) => r.events.push(e),
    onWakeRequest: () => (r.wakes += 1),
  };
  return r;
}

const event: OutboxEvent = {
  type: 'status',
  entry: { id: 'a', conversationId: 'c', text: 't', status: 'pending', attempts: 0, createdAt: 1 },
};

let open: Coordinator[] = [];
afterEach(async () => {
  await Promise.all(open.map((c) => c.close()));
  open = [];
});
let n = 0;
const uniqueName = () => `test-${process.pid}-${++n}`;

describe('webLocksCoordinator', () => {
  const make = (name: string, locks: LockManager) => {
    const c = webLocksCoordinator({ name, locks });
    open.push(c);
    return c;
  };

  it('makes the first instance leader and queues the others', async () => {
    const locks = fakeLocks();
    const name = uniqueName();
    const a = make(name, locks);
    const b = make(name, locks);
    const ra = recorder();
    const rb = recorder();
    a.start(ra);
    b.start(rb);
    await vi.waitFor(() => expect(ra.leadership).toEqual([true]));
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    expect(rb.leadership).toEqual([]);
    expect(locks.holders()).toEqual([`${name}:sender`]);
    expect(locks.queued()).toBe(1);
  });

  it('hands leadership to the next instance when the leader closes', async () => {
    const locks = fakeLocks();
    const name = uniqueName();
    const a = make(name, locks);
    const b = make(name, locks);
    const ra = recorder();
    const rb = recorder();
    a.start(ra);
    b.start(rb);
    await vi.waitFor(() => expect(a.isLeader()).toBe(true));
    await a.close();
    expect(ra.leadership).toEqual([true, false]);
    await vi.waitFor(() => expect(rb.leadership).toEqual([true]));
    expect(b.isLeader()).toBe(true);
  });

  it('leaves the queue when a follower closes, so it never becomes leader', async () => {
    const locks = fakeLocks();
    const name = uniqueName();
    const a = make(name, locks);
    const b = make(name, locks);
    const rb = recorder();
    a.start(recorder());
    b.start(rb);
    await vi.waitFor(() => expect(a.isLeader()).toBe(true));
    await b.close();
    expect(locks.queued()).toBe(0);
    await a.close();
    expect(locks.holders()).toEqual([]);
    expect(rb.leadership).toEqual([]);
  });

  it('delivers status events to the other instances and wake requests to the leader', async () => {
    const locks = fakeLocks();
    const name = uniqueName();
    const a = make(name, locks);
    const b = make(name, locks);
    const c = make(name, locks);
    const [ra, rb, rc] = [recorder(), recorder(), recorder()];
    a.start(ra);
    b.start(rb);
    c.start(rc);
    await vi.waitFor(() => expect(a.isLeader()).toBe(true));
    b.broadcast(event);
    await vi.waitFor(() => expect(ra.events).toEqual([event]));
    await vi.waitFor(() => expect(rc.events).toEqual([event]));
    expect(rb.events).toEqual([]);

    c.requestWake();
    await vi.waitFor(() => expect(ra.wakes).toBe(1));
    a.requestWake(); // the leader wakes itself directly
    expect(ra.wakes).toBe(2);
    expect(rb.wakes + rc.wakes).toBe(0);
  });

  it('does not hear another name', async () => {
    const locks = fakeLocks();
    const name = uniqueName();
    const a = make(name, locks);
    const a2 = make(name, locks);
    const b = make(uniqueName(), locks);
    const [ra, ra2, rb] = [recorder(), recorder(), recorder()];
    a.start(ra);
    a2.start(ra2);
    b.start(rb);
    await vi.waitFor(() => expect(b.isLeader()).toBe(true));
    expect(a.isLeader()).toBe(true);
    a.broadcast(event);
    a2.requestWake();
    await vi.waitFor(() => expect(ra2.events).toEqual([event]));
    await vi.waitFor(() => expect(ra.wakes).toBe(1));
    expect(rb.events).toEqual([]);
    expect(rb.wakes).toBe(0);
  });
});

describe('event channel: posts status events only while another tab listens', () => {
  /** BroadcastChannel that records what this instance posted (what it hears is unchanged). */
  const counting = (posted: unknown[]) =>
    class extends BroadcastChannel {
      override postMessage(m: unknown) {
        posted.push(m);
        super.postMessage(m);
      }
    };
  const events = (posted: unknown[]) =>
    posted.filter((m) => (m as { es?: unknown[] }).es?.length).length;

  afterEach(() => vi.restoreAllMocks());

  it('a tab that sends as soon as it opens reaches the tab already open: its events wait for the answer to its hello, in order', async () => {
    const locks = fakeLocks();
    const name = uniqueName();
    const b = webLocksCoordinator({ name, locks });
    open.push(b);
    const rb = recorder();
    b.start(rb);
    await vi.waitFor(() => expect(b.isLeader()).toBe(true));
    const postedA: unknown[] = [];
    const a = webLocksCoordinator({ name, locks, BroadcastChannel: counting(postedA) });
    open.push(a);
    a.start(recorder());
    const first = { ...event, entry: { ...event.entry, id: 'first' } };
    const second = { ...event, entry: { ...event.entry, id: 'second' } };
    a.broadcast(first); // before b's answer can have arrived
    expect(events(postedA)).toBe(0);
    a.broadcast(second);
    await vi.waitFor(() => expect(rb.events).toEqual([first, second]));
    // Both in one message, sent when b answered.
    expect(events(postedA)).toBe(1);
  });

  it('a lone instance posts nothing per event once the hello went unanswered; a new tab changes that, its bye undoes it', async () => {
    const locks = fakeLocks();
    const name = uniqueName();
    const postedA: unknown[] = [];
    const a = webLocksCoordinator({ name, locks, BroadcastChannel: counting(postedA) });
    open.push(a);
    const ra = recorder();
    a.start(ra);
    await vi.waitFor(() => expect(a.isLeader()).toBe(true));
    // Within the hello grace period nothing goes out while nobody answered (answers may be on
    // their way: the events wait for one)…
    a.broadcast(event);
    await new Promise((r) => setTimeout(r, 20));
    expect(events(postedA)).toBe(0);
    // …after it, not any more: what waited is dropped.
    const start = Date.now();
    vi.spyOn(Date, 'now').mockImplementation(() => start + HELLO_GRACE_MS + 1);
    a.broadcast(event);
    a.broadcast(event);
    await new Promise((r) => setTimeout(r, 20));
    expect(events(postedA)).toBe(0);

    // A second tab opens: its hello makes the first one post again, and it hears the events.
    const b = webLocksCoordinator({ name, locks });
    const rb = recorder();
    b.start(rb);
    await vi.waitFor(() => {
      a.broadcast(event);
      expect(rb.events.length).toBeGreaterThan(0);
    });
    // b heard a's answer too: b's events reach a after b's own grace period is over.
    vi.spyOn(Date, 'now').mockImplementation(() => start + 10 * HELLO_GRACE_MS);
    b.broadcast(event);
    await vi.waitFor(() => expect(ra.events).toEqual([event]));

    // The second tab closes with a bye: the first one goes quiet again.
    await b.close();
    await new Promise((r) => setTimeout(r, 20));
    const before = events(postedA);
    a.broadcast(event);
    await new Promise((r) => setTimeout(r, 20));
    expect(events(postedA)).toBe(before);
  });
});

/** A clock whose timers run only when the test advances it. */
function manualClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let ids = 0;
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++ids;
      timers.push({ at: now + ms, fn, id });
      return id;
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
  };
}

describe('leaseCoordinator', () => {
  const make = (name: string, indexedDB: IDBFactory, clock: Clock, lease?: LeaseFunction) => {
    const c = leaseCoordinator({ name, indexedDB, clock, ...(lease ? { lease } : {}) });
    open.push(c);
    return c;
  };

  it('gives the lease to one instance and hands it over at once on close', async () => {
    const idb = new IDBFactory();
    const clock = manualClock();
    const name = uniqueName();
    const a = make(name, idb, clock);
    const [ra, rb] = [recorder(), recorder()];
    a.start(ra);
    await vi.waitFor(() => expect(ra.leadership).toEqual([true]));
    const b = make(name, idb, clock);
    b.start(rb);
    clock.advance(1000); // both renew/look
    await new Promise((r) => setTimeout(r, 20));
    expect(rb.leadership).toEqual([]);
    expect(b.isLeader()).toBe(false);
    await a.close();
    expect(ra.leadership).toEqual([true, false]);
    // The "released" message makes b look now, without waiting for its timer.
    await vi.waitFor(() => expect(rb.leadership).toEqual([true]));
    expect(b.isLeader()).toBe(true);
  });

  it('takes over a lease that stopped being renewed (crashed tab) once it expired', async () => {
    const idb = new IDBFactory();
    const clockA = manualClock();
    const clockB = manualClock();
    const name = uniqueName();
    const a = make(name, idb, clockA);
    const b = make(name, idb, clockB);
    const [ra, rb] = [recorder(), recorder()];
    a.start(ra);
    await vi.waitFor(() => expect(ra.leadership).toEqual([true]));
    b.start(rb);
    // a's clock stands still: it never renews, like a crashed or frozen tab.
    clockB.advance(2000);
    await new Promise((r) => setTimeout(r, 20));
    expect(rb.leadership).toEqual([]);
    clockB.advance(1001);
    await vi.waitFor(() => expect(rb.leadership).toEqual([true]));
    // a, resumed later, sees its lease gone and steps down.
    clockA.advance(5000);
    await vi.waitFor(() => expect(ra.leadership).toEqual([true, false]));
  });

  it('stops claiming leadership when its lease ran out before a renewal (throttled timers)', async () => {
    let now = 5_000;
    const frozen: Clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
    const lease: LeaseFunction = () => Promise.resolve(true);
    const a = make(uniqueName(), new IDBFactory(), frozen, lease);
    a.start(recorder());
    await vi.waitFor(() => expect(a.isLeader()).toBe(true));
    now += 2_999;
    expect(a.isLeader()).toBe(true);
    now += 1;
    expect(a.isLeader()).toBe(false);
  });

  it('asks the outbox to look again when a renewal restores a lease that had run out', async () => {
    const clock = manualClock();
    const lease: LeaseFunction = () => Promise.resolve(true);
    const a = make(uniqueName(), new IDBFactory(), clock, lease);
    const ra = recorder();
    a.start(ra);
    await vi.waitFor(() => expect(a.isLeader()).toBe(true));
    clock.advance(1000); // an ordinary renewal: nothing to say
    await new Promise((r) => setTimeout(r, 10));
    expect(ra.wakes).toBe(0);
    clock.advance(5000); // timers were throttled past the lease's end, then the renewal ran
    await vi.waitFor(() => expect(ra.wakes).toBe(1));
    expect(a.isLeader()).toBe(true);
    expect(ra.leadership).toEqual([true]);
  });

  it('treats a failing lease store as "not leader"', async () => {
    const clock = manualClock();
    const lease: LeaseFunction = () => Promise.reject(new Error('boom'));
    const a = make(uniqueName(), new IDBFactory(), clock, lease);
    const ra = recorder();
    a.start(ra);
    await new Promise((r) => setTimeout(r, 10));
    expect(a.isLeader()).toBe(false);
    expect(ra.leadership).toEqual([]);
  });
});

describe('defaultCoordinator', () => {
  it('is the single-process coordinator outside browsers', async () => {
    const c = defaultCoordinator('x');
    const r = recorder();
    c.start(r);
    expect(r.leadership).toEqual([true]);
    expect(c.isLeader()).toBe(true);
    await c.close();
  });
});
