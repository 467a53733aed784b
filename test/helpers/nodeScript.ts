import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

export interface ScriptRun {
  /** Exit code, or `null` when killed (see `killed`). */
  code: number | null;
  /** True when the script outlived `killAfterMs` and was killed. */
  killed: boolean;
  stdout: string;
  stderr: string;
}

/**
 * Bundles a TypeScript script (from `test/fixtures/`) to one ESM file in `.tmp/` and returns a
 * function that runs it in a real child Node process (`ws` and `better-sqlite3` stay external,
 * resolved from node_modules). A run that is still alive after `killAfterMs` is killed and
 * reported as such: a test asserts on `killed`, never on durations.
 */
export async function nodeScript(
  source: string,
): Promise<(args?: string[], killAfterMs?: number) => Promise<ScriptRun>> {
  const dir = join(process.cwd(), '.tmp');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${basename(source, '.ts')}-${process.pid}.mjs`);
  await build({
    entryPoints: [source],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    external: ['ws', 'better-sqlite3'],
    logLevel: 'silent',
  });
  return (args = [], killAfterMs = 20_000) =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [out, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, killAfterMs);
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, killed, stdout, stderr });
      });
    });
}
