import { describe, expect, it } from 'vitest';
import { callbackTokenProvider, toTokenProvider } from '../../src/auth/tokenProvider.js';
import { thrownCode as code } from '../helpers/errorCode.js';

describe('callbackTokenProvider', () => {
  it('caches the token until invalidate()', async () => {
    let calls = 0;
    const p = callbackTokenProvider(() => `t${++calls}`);
    expect(await p.getToken()).toBe('t1');
    expect(await p.getToken()).toBe('t1');
    p.invalidate();
    expect(await p.getToken()).toBe('t2');
    expect(calls).toBe(2);
  });

  it('invalidate(token) ignores a token that was already replaced', async () => {
    let calls = 0;
    const p = callbackTokenProvider(async () => `t${++calls}`);
    const old = await p.getToken();
    p.invalidate(old);
    expect(await p.getToken()).toBe('t2');
    p.invalidate(old); // stale: keeps t2
    expect(await p.getToken()).toBe('t2');
    p.invalidate('t2');
    expect(await p.getToken()).toBe('t3');
  });

  it('single-flight: concurrent calls share one call of the callback', async () => {
    let calls = 0;
    let release!: (t: string) => void;
    const gate = new Promise<string>((r) => (release = r));
    const p = callbackTokenProvider(() => {
      calls++;
      return gate;
    });
    const all = Promise.all([p.getToken(), p.getToken(), p.getToken()]);
    release('shared');
    expect(await all).toEqual(['shared', 'shared', 'shared']);
    expect(calls).toBe(1);
  });

  it('does not cache failures; passes errors through unchanged', async () => {
    let calls = 0;
    const boom = new TypeError('Failed to fetch');
    const p = callbackTokenProvider(() => {
      if (++calls === 1) throw boom;
      return 'ok';
    });
    await expect(p.getToken()).rejects.toBe(boom);
    expect(await p.getToken()).toBe('ok');
  });

  it('an empty or non-string token is auth-failed', async () => {
    await expect(callbackTokenProvider(() => '').getToken()).rejects.toMatchObject({
      code: 'auth-failed',
    });
    await expect(
      callbackTokenProvider(() => undefined as unknown as string).getToken(),
    ).rejects.toMatchObject({
      code: 'auth-failed',
    });
  });
});

describe('toTokenProvider', () => {
  it('undefined stays undefined; a provider is returned as is; a function is wrapped', async () => {
    expect(toTokenProvider(undefined)).toBeUndefined();
    const provider = { getToken: async () => 'x', invalidate: () => {} };
    expect(toTokenProvider(provider)).toBe(provider);
    expect(await toTokenProvider(() => 'fn')?.getToken()).toBe('fn');
  });

  it('anything else is invalid-options', () => {
    expect(code(() => toTokenProvider('token' as never))).toBe('invalid-options');
    expect(code(() => toTokenProvider({ getToken: () => 'x' } as never))).toBe('invalid-options');
    expect(code(() => toTokenProvider(null as never))).toBe('invalid-options');
    expect(code(() => callbackTokenProvider('x' as never))).toBe('invalid-options');
  });
});
