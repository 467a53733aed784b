import { afterEach, describe, expect, it, vi } from 'vitest';
import { requestPersistentStorage } from '../../src/store/persist.js';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('requestPersistentStorage', () => {
  it('is false where the Storage API is missing (Node)', async () => {
    vi.stubGlobal('navigator', undefined);
    expect(await requestPersistentStorage()).toBe(false);
  });

  it('does not ask again when storage is already persistent', async () => {
    const persist = vi.fn(() => Promise.resolve(false));
    vi.stubGlobal('navigator', { storage: { persisted: () => Promise.resolve(true), persist } });
    expect(await requestPersistentStorage()).toBe(true);
    expect(persist).not.toHaveBeenCalled();
  });

  it("returns the browser's answer, and false when asking throws", async () => {
    vi.stubGlobal('navigator', {
      storage: { persisted: () => Promise.resolve(false), persist: () => Promise.resolve(true) },
    });
    expect(await requestPersistentStorage()).toBe(true);
    vi.stubGlobal('navigator', {
      storage: { persist: () => Promise.reject(new Error('denied')) },
    });
    expect(await requestPersistentStorage()).toBe(false);
  });
});
