import type { Connectivity } from './Connectivity.js';
import { alwaysOnline } from './always.js';
import { browserConnectivity } from './browser.js';

/** The connectivity `createOutbox` uses by default: browser signals where `window` exists, else always online. */
export function defaultConnectivity(): Connectivity {
  return typeof globalThis.window === 'object' && globalThis.window !== null
    ? browserConnectivity()
    : alwaysOnline();
}
