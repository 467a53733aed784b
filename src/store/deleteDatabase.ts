import type { ErrorClass } from './encrypted.js';

/**
 * Deletes an IndexedDB database. Rejects with `storage-failed` if it fails, or if it is still
 * blocked after `blockedMs` (another tab keeps it open and did not close on `versionchange`;
 * the delete then still happens once that tab lets go). `E` is the OutboxError class (see
 * `ErrorClass`: this is a lazy chunk).
 */
export function deleteDatabase(
  E: ErrorClass,
  factory: IDBFactory,
  name: string,
  blockedMs: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const request = factory.deleteDatabase(name);
    const timer = setTimeout(
      () => reject(new E('storage-failed', 'IndexedDB: delete blocked by another tab')),
      blockedMs,
    );
    request.onsuccess = () => {
      clearTimeout(timer);
      resolve();
    };
    request.onerror = () => {
      clearTimeout(timer);
      reject(new E('storage-failed', 'IndexedDB: delete failed', { cause: request.error }));
    };
  });
}
