// close() and the rate-limit bounds of the dispatcher (issue 10 #6, #10).
import { describe, expect, it } from 'vitest';
import { createOutbox } from '../../src/outbox/createOutbox.js';
import type { OutboxOptions } from '../../src/outbox/createOutbox.js';
import { memoryStore } from '../../src/store/memory.js';
import { silentLogger } from '../../src/internal/logger.js';
import { FakeClock } from '../helpers/fakeClock.js';
import { ScriptedTransport } from '../helpers/scriptedTransport.js';
import { waitFor } from '../helpers/waitFor.js';
import { rejectionCode } from '../helpers/errorCode.js';

function options(transport: ScriptedTransport, extra: Partial<OutboxOptions> = {}): OutboxOptions {
  return {
    transport,
    store: memoryStore(),
    clock: new FakeClock(),
    random: () => 1,
    coordinator: false,
    logger: silentLogger,
    ...extra,
  };
}

describe('close()', () => {
  it('a second concurrent close() is the same promise and resolves only after the first finished (issue 10 #10)', async () => {
    let release!: () => void;
    const t = new ScriptedTransport();
    t.gate = new Promise<void>((r) => (release = r));
    const steps: string[] = [];
    const transport = Object.assign(t, {
      close: async () => {
        steps.push('transport closed');
        return Promise.resolve();
      },
    });
    const store = memoryStore();
    const storeClose = store.close.bind(store);
    store.close = async () => {
      steps.push('store closed');
      await storeClose();
    };
    const outbox = await createOutbox(options(transport, { store }));
    await outbox.send({ text: 'in flight' });
    await waitFor(() => t.calls.length === 1, { what: 'the attempt started' });
    const first = outbox.close();
    const second = outbox.close();
    expect(second).toBe(first);
    let secondDone = false;
    void second.then(() => (secondDone = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(secondDone).toBe(false); // the attempt is still in flight
    release();
    await second;
    expect(steps).toEqual(['transport closed', 'store closed']);
    await first;
    expect(await rejectionCode(outbox.send({ text: 'late' }))).toBe('closed');
  });
});

describe('rate limits are bounded (issue 10 #6)', () => {
  const limited = (retryAfterMs: number) => () => ({
    kind: 'rate-limited' as const,
    retryAfterMs,
    error: { code: 'rate-limited' as const, message: 'HTTP 429', status: 429 },
  });

  it('Retry-After 0 (or a past date) forever: waits at least 1 s each time and ends expired at maxAttempts', async () => {
    const t = new ScriptedTransport(limited(0));
    const clock = new FakeClock();
    const outbox = await createOutbox(
      options(t, { clock, retry: { maxAttempts: 5, maxAgeMs: 3_600_000 } }),
    );
    const e = await outbox.send({ text: 'hammer?' });
    const settled = outbox.whenSettled(e.id);
    for (let i = 1; i < 5; i++) {
      const [p] = await waitFor(async () => {
        const l = await outbox.list();
        return l[0]?.attempts === i && l[0].status === 'pending' ? l : undefined;
      });
      expect((p?.nextAttemptAt ?? 0) - clock.now()).toBe(1000);
      clock.advance(999);
      await new Promise((r) => setTimeout(r, 10));
      expect(t.calls).toHaveLength(i); // not before the floor
      clock.advance(1);
    }
    const done = await settled;
    expect(done).toMatchObject({ status: 'failed', attempts: 5, lastError: { code: 'expired' } });
    expect(done.lastError?.message).toMatch(/rate-limited/);
    expect(t.calls).toHaveLength(5);
    await outbox.close();
  });

  it('Retry-After 1 forever with a large maxAttempts: expires at maxAgeMs', async () => {
    const t = new ScriptedTransport(limited(1000));
    const clock = new FakeClock();
    const outbox = await createOutbox(
      options(t, { clock, retry: { maxAttempts: 1_000_000, maxAgeMs: 10_000 } }),
    );
    const e = await outbox.send({ text: 'slow down' });
    const settled = outbox.whenSettled(e.id);
    for (let i = 1; i <= 10; i++) {
      await waitFor(async () => (await outbox.list())[0]?.attempts === i);
      clock.advance(1000);
    }
    const done = await settled;
    expect(done).toMatchObject({ status: 'failed', lastError: { code: 'expired' } });
    expect(t.calls.length).toBeLessThanOrEqual(10);
    await outbox.close();
  });
});
