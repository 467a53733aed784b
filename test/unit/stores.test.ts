import 'fake-indexeddb/auto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { memoryStore } from '../../src/store/memory.js';
import { indexedDbStore } from '../../src/store/indexedDb.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import { encryptedStore } from '../../src/store/encryptedStore.js';
import { runStoreContract } from './store-contract.js';

runStoreContract(
  'memory',
  async () => {
    const store = memoryStore();
    return {
      store,
      reopen: async () => {
        await store.close();
        return memoryStore();
      },
      cleanup: () => store.close(),
    };
  },
  { persistent: false, removeDelivered: false, sweep: true },
);

runStoreContract(
  'indexedDb',
  async () => {
    // A fresh factory per test: nothing leaks between tests. No fake timers with fake-indexeddb.
    const indexedDB = new IDBFactory();
    let current = indexedDbStore({ indexedDB });
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = indexedDbStore({ indexedDB });
        return current;
      },
      cleanup: () => current.close(),
    };
  },
  { sweep: true },
);

runStoreContract(
  'sqlite',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outbox-sqlite-'));
    const path = join(dir, 'outbox.db');
    let current = sqliteStore({ path });
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = sqliteStore({ path });
        return current;
      },
      cleanup: async () => {
        await current.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { sweep: true },
);

// The encryption wrapper must keep every store's contract (it changes what is stored, not what
// a caller reads back).
const aesKey = (): Promise<CryptoKey> =>
  crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);

runStoreContract(
  'encrypted(memory)',
  async () => {
    const key = await aesKey();
    const store = encryptedStore(memoryStore(), { key });
    return {
      store,
      reopen: async () => {
        await store.close();
        return encryptedStore(memoryStore(), { key });
      },
      cleanup: () => store.close(),
    };
  },
  { persistent: false, removeDelivered: false },
);

runStoreContract('encrypted(indexedDb)', async () => {
  const indexedDB = new IDBFactory();
  const key = await aesKey();
  let current = encryptedStore(indexedDbStore({ indexedDB }), { key });
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = encryptedStore(indexedDbStore({ indexedDB }), { key });
      return current;
    },
    cleanup: () => current.close(),
  };
});

runStoreContract('encrypted(sqlite)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outbox-sqlite-'));
  const path = join(dir, 'outbox.db');
  const key = await aesKey();
  let current = encryptedStore(sqliteStore({ path }), { key });
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = encryptedStore(sqliteStore({ path }), { key });
      return current;
    },
    cleanup: async () => {
      await current.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
