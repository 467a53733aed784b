import type { Connectivity } from './Connectivity.js';
import { alwaysOnline } from './always.js';
import { browserConnectivity } from './browser.js';

/**
 * The connectivity `createOutbox` uses by default: browser signals where `window` exists; else
 * (Node) always online, probing the transport's `endpoint` after a network failure so that
 * delivery resumes as soon as its host answers again (see {@link alwaysOnline}).
 */
export function defaultConnectivity(endpoint?: string): Connectivity {
  return typeof globalThis.window === 'object' && globalThis.window !== null
    ? browserConnectivity()
    : alwaysOnline(endpoint);
}
