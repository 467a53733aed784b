import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The CLI as `npm run build` ships it: one ESM file next to node_modules (so `ws` resolves).
const OUT = join(process.cwd(), '.tmp', `simulator-cli-${process.pid}.mjs`);

beforeAll(async () => {
  mkdirSync(join(process.cwd(), '.tmp'), { recursive: true });
  await build({
    entryPoints: ['simulator/cli.ts'],
    outfile: OUT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    external: ['ws'],
    logLevel: 'silent',
  });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `onStdout` sees the output as it comes and may signal the process. */
function run(args: string[], onStdout?: (text: string, kill: () => void) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [OUT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onStdout?.(stdout, () => child.kill('SIGTERM'));
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let blocker: Server;
let busyPort: number;
beforeAll(async () => {
  blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  busyPort = (blocker.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => blocker.close(() => resolve()));
  rmSync(OUT, { force: true });
});

describe('simulator CLI', () => {
  it('prints its URLs and stops cleanly on SIGTERM', async () => {
    const result = await run(['--port', '0', '--bot'], (text, kill) => {
      if (text.includes('Press Ctrl+C')) kill();
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/api \(HTTP\):\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(result.stdout).toMatch(
      /guest WebSocket: ws:\/\/127\.0\.0\.1:\d+\/v1\?deploymentId=sim-deployment/,
    );
    expect(result.stdout).toMatch(/bot:\s+on/);
    expect(result.stderr).toBe('');
  });

  it('a port in use: one clear line and exit code 1, no stack trace', async () => {
    const result = await run(['--port', String(busyPort), '--control-port', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `genesys-outbox-simulator: port ${busyPort} is already in use on 127.0.0.1\n`,
    );
  });

  it('an unknown argument: usage and exit code 1', async () => {
    const result = await run(['--nope']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^genesys-outbox-simulator: unknown argument --nope\nusage:/);
  });
});
