// setMetaIfAbsent between two instances on one storage (two tabs on one IndexedDB database, two
// processes on one SQLite file): one value wins, both answer it.
import 'fake-indexeddb/auto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import type { OutboxStore } from '../../src/store/OutboxStore.js';

async function race(a: OutboxStore, b: OutboxStore): Promise<void> {
  await Promise.all([a.open(), b.open()]);
  for (let round = 0; round < 20; round++) {
    const key = `k${round}`;
    const [x, y] = await Promise.all([
      a.setMetaIfAbsent!(key, `a${round}`),
      b.setMetaIfAbsent!(key, `b${round}`),
    ]);
    expect(x).toBe(y);
    expect(await a.getMeta(key)).toBe(x);
    expect(await b.getMeta(key)).toBe(x);
  }
  await Promise.all([a.close(), b.close()]);
}

describe('setMetaIfAbsent, two instances on one storage', () => {
  it('IndexedDB: two connections to one database', async () => {
    const name = `meta-race-${Date.now()}`;
    await race(indexedDbStore({ name }), indexedDbStore({ name }));
  });

  it('SQLite: two stores on one file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meta-race-'));
    try {
      const path = join(dir, 'o.db');
      await race(sqliteStore({ path }), sqliteStore({ path }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
