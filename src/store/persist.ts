/**
 * Asks the browser to exempt this origin's storage from eviction under storage pressure.
 * Resolves true when storage is persistent. It does not lift Safari's 7-day cap on the
 * script-writable storage of a site not visited for a week (only a home-screen web app escapes it). Chromium grants it silently to sites the user
 * engages with (bookmarked, installed, notifications); Firefox asks the user; Safari decides by
 * its own heuristics. Never rejects.
 *
 * @example
 * if (!(await requestPersistentStorage())) showHint('Messages are kept on this device, but the browser may clear them.');
 */
export async function requestPersistentStorage(): Promise<boolean> {
  const storage = globalThis.navigator?.storage;
  try {
    if (storage?.persist === undefined) return false;
    if ((await storage.persisted?.()) === true) return true;
    return await storage.persist();
  } catch {
    return false;
  }
}
