import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nodeScript, type ScriptRun } from '../helpers/nodeScript.js';

let server: Server;
const sockets: Socket[] = [];
let run: (args?: string[]) => Promise<ScriptRun>;

beforeAll(async () => {
  // Accepts connections and never answers: the WebSocket stays CONNECTING.
  server = createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  run = await nodeScript('test/fixtures/close-while-connecting.ts');
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('close() while the guest WebSocket is still connecting does not crash Node (issue 10 #8)', async () => {
  const { port } = server.address() as AddressInfo;
  const r = await run([`ws://127.0.0.1:${port}`]);
  expect(r.stderr).not.toMatch(/closed before the connection was established/);
  expect({ code: r.code, killed: r.killed, stdout: r.stdout.trim() }).toEqual({
    code: 0,
    killed: false,
    stdout: 'closed',
  });
});
