// The Node network probe behind alwaysOnline(endpoint): nothing before a network failure, one
// probe loop however many failures are reported, listeners told once the host answers.
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { alwaysOnline } from '../../src/connectivity/always.js';
import { probeHost, waitForHost } from '../../src/connectivity/probe.js';
import { waitFor } from '../helpers/waitFor.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

/** A TCP server that counts connections, on a free port. */
async function listen(): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  server = createServer((socket) => {
    n += 1;
    socket.destroy();
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, connections: () => n };
}

describe('alwaysOnline(endpoint)', () => {
  it('probes only after a network failure, once however many are reported, and tells listeners when the host answers', async () => {
    const { port, connections } = await listen();
    const c = alwaysOnline(`http://127.0.0.1:${port}/api`);
    const heard: boolean[] = [];
    c.subscribe((online) => heard.push(online));
    c.report?.(true);
    c.report?.(true);
    expect(c.isOnline()).toBe(true);
    c.report?.(false);
    c.report?.(false);
    c.report?.(false);
    await waitFor(() => heard.length > 0, { what: 'the probe to succeed' });
    expect(heard).toEqual([true]);
    expect(connections()).toBe(1);
    c.close?.();
  });

  it('without an endpoint, reports change nothing', async () => {
    const c = alwaysOnline();
    const heard: boolean[] = [];
    c.subscribe((online) => heard.push(online));
    c.report?.(false);
    await new Promise((r) => setTimeout(r, 10));
    expect(heard).toEqual([]);
    expect(c.isOnline()).toBe(true);
  });
});

describe('waitForHost', () => {
  it('probes until the host answers', async () => {
    let calls = 0;
    const up = await waitForHost(
      'https://api.example.test/x',
      0,
      () => false,
      async (url) => {
        calls += 1;
        expect(url.hostname).toBe('api.example.test');
        return calls === 3;
      },
    );
    expect(up).toBe(true);
    expect(calls).toBe(3);
  });

  it('stops when told to, and never probes a relative or non-network URL', async () => {
    let calls = 0;
    const probe = async () => {
      calls += 1;
      return false;
    };
    let stop = false;
    const waiting = waitForHost('http://127.0.0.1:1/', 0, () => stop, probe);
    await waitFor(() => calls > 0);
    stop = true;
    expect(await waiting).toBe(false);
    const before = calls;
    expect(await waitForHost('/relative/url', 0, () => false, probe)).toBe(false);
    expect(await waitForHost('file:///tmp/x', 0, () => false, probe)).toBe(false);
    expect(calls).toBe(before);
  });

  it('probeHost: a TCP connection (true), refused (false)', async () => {
    const { port } = await listen();
    expect(await probeHost(new URL(`ws://127.0.0.1:${port}/v1`))).toBe(true);
    await new Promise((r) => server!.close(r));
    server = undefined;
    expect(await probeHost(new URL(`https://127.0.0.1:${port}/`))).toBe(false);
  });
});
