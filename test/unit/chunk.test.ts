// internal/chunk.ts: the loader behind the chunks fetched at start (issue 15). Calls made before
// the chunk arrived run in call order, also against a call made in the very microtask in which it
// arrived; a failed fetch rejects the waiting calls with the given code and is fetched again by
// the next call.
import { describe, expect, it } from 'vitest';
import { chunk } from '../../src/internal/chunk.js';
import { isOutboxError } from '../../src/errors/OutboxError.js';

describe('chunk()', () => {
  it('keeps call order across the arrival of the chunk', async () => {
    let arrive!: (v: string) => void;
    let fetches = 0;
    const c = chunk(
      () =>
        new Promise<string>((r) => {
          fetches++;
          arrive = r;
        }),
      'load-failed',
    );
    const order: string[] = [];
    const first = c.call(async (v) => void order.push(`first ${v}`));
    const second = c.call(async (v) => void order.push(`second ${v}`));
    arrive('m');
    // Runs after the chunk's value is set but before the waiting calls' turn: must queue behind them.
    queueMicrotask(() => void c.call(async (v) => void order.push(`third ${v}`)));
    await Promise.all([first, second]);
    await new Promise((r) => setTimeout(r, 0));
    expect(order).toEqual(['first m', 'second m', 'third m']);
    await c.call(async (v) => void order.push(`later ${v}`)); // straight to it now
    expect(order.at(-1)).toBe('later m');
    expect(fetches).toBe(1);
  });

  it('a failed fetch rejects the waiting calls with the code, and the next call fetches again', async () => {
    let fetches = 0;
    const cause = new TypeError('Failed to fetch dynamically imported module');
    const c = chunk(
      () => (++fetches === 1 ? Promise.reject(cause) : Promise.resolve(fetches)),
      'storage-failed',
    );
    c.prefetch(); // fails quietly
    const errors = await Promise.allSettled([c.call(async (v) => v), c.call(async (v) => v)]);
    for (const r of errors) {
      expect(r.status).toBe('rejected');
      const e = (r as PromiseRejectedResult).reason as unknown;
      expect(isOutboxError(e) && e.code).toBe('storage-failed');
      expect((e as { cause?: unknown }).cause).toBe(cause);
    }
    expect(fetches).toBe(1);
    expect(await c.call(async (v) => v)).toBe(2);
    expect(await c.call(async (v) => v)).toBe(2);
    expect(fetches).toBe(2);
  });
});
