// The Node network probe behind `alwaysOnline(endpoint)`: a separate chunk, loaded at the first
// network failure (browsers use their own online/offline events and never load it).
import type { Socket } from 'node:net';

/** Time between probes while the host does not answer. */
export const PROBE_INTERVAL_MS = 500;
const PROBE_TIMEOUT_MS = 2000;

type Net = { connect(options: { host: string; port: number }): Socket };

/** True when the URL's host accepts a TCP connection (Node), or answers HTTP `HEAD` elsewhere. */
export function probeHost(url: URL): Promise<boolean> {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const net = proc?.getBuiltinModule?.('node:net') as Net | undefined;
  if (net === undefined) {
    return globalThis
      .fetch(url.origin.replace(/^ws/, 'http'), {
        method: 'HEAD',
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      })
      .then(
        () => true,
        () => false,
      );
  }
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  return new Promise((resolve) => {
    const socket = net.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.unref(); // a probe never keeps a process alive
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms) as { unref?: () => void };
    t.unref?.();
  });

/**
 * Probes `endpoint`'s host every {@link PROBE_INTERVAL_MS} until it answers (`true`) or `stopped()`
 * (`false`). `failedAgain` counts earlier probe successes that were followed by another network
 * failure (a host that accepts connections while requests still fail, e.g. a proxy): each
 * doubles the first wait, up to a minute, so such a host is not retried every half second.
 */
export async function waitForHost(
  endpoint: string,
  failedAgain: number,
  stopped: () => boolean,
  probe: (url: URL) => Promise<boolean> = probeHost,
): Promise<boolean> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false; // a relative URL: nothing to probe
  }
  if (!/^(https?|wss?):$/.test(url.protocol)) return false;
  let wait = Math.min(PROBE_INTERVAL_MS * 2 ** failedAgain, 60_000);
  for (;;) {
    await sleep(wait);
    if (stopped()) return false;
    if (await probe(url).catch(() => false)) return !stopped();
    wait = PROBE_INTERVAL_MS;
  }
}

/** What `alwaysOnline` keeps per instance. */
export interface ProbeState {
  probing: boolean;
  closed: boolean;
  again: number;
}

/** `waitForHost`, then (when it answered and nothing closed meanwhile) every listener gets `true`. */
export async function probeUntilUp(
  endpoint: string,
  state: ProbeState,
  listeners: Set<(online: boolean) => void>,
): Promise<void> {
  const up = await waitForHost(endpoint, state.again++, () => state.closed);
  state.probing = false;
  if (up && !state.closed) for (const l of [...listeners]) l(true);
}
