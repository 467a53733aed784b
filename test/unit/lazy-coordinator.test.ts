// Issue 15: the browser coordinators are chunks fetched when the outbox starts. A page reloaded
// offline from a cache that lacks the chunk must not stay without a sender for good: the next time
// the outbox asks whether it leads (its next wake), the chunk is fetched again.
import { describe, expect, it, vi } from 'vitest';
import { lazyCoordinator } from '../../src/coordination/lazy.js';
import { soloCoordinator, type Coordinator } from '../../src/coordination/Coordinator.js';
import type { OutboxEvent } from '../../src/outbox/events.js';

describe('lazyCoordinator', () => {
  it('after a failed load it does not lead; the next ask loads again, then it leads and hands on what waited', async () => {
    let loads = 0;
    const inner = soloCoordinator();
    const broadcast = vi.spyOn(inner, 'broadcast');
    const c = lazyCoordinator((): Promise<Coordinator> => {
      loads += 1;
      return loads === 1
        ? Promise.reject(new TypeError('Failed to fetch'))
        : Promise.resolve(inner);
    });
    const changes: boolean[] = [];
    c.start({
      onLeadershipChange: (leader) => changes.push(leader),
      onRemoteEvent: () => {},
      onWakeRequest: () => {},
    });
    const event: OutboxEvent = { type: 'wiped' };
    c.broadcast(event); // waits for the coordinator
    await vi.waitFor(() => expect(loads).toBe(1));
    await new Promise((r) => setTimeout(r, 0));
    expect(c.isLeader()).toBe(false); // not loaded: never a sender; this ask fetches it again
    await vi.waitFor(() => expect(c.isLeader()).toBe(true));
    expect(loads).toBe(2);
    expect(changes).toEqual([true]);
    expect(broadcast).toHaveBeenCalledWith(event);
    await c.close();
  });
});
