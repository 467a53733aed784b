import { IDBFactory } from 'fake-indexeddb';

/** A fresh fake IndexedDB that remembers every connection it opened (to close one under the store). */
export function idbFactory(): { indexedDB: IDBFactory; connections: IDBDatabase[] } {
  const indexedDB = new IDBFactory();
  const connections: IDBDatabase[] = [];
  const open = indexedDB.open.bind(indexedDB);
  indexedDB.open = (name: string, version?: number) => {
    const request = open(name, version);
    request.addEventListener('success', () => connections.push(request.result));
    return request;
  };
  return { indexedDB, connections };
}
