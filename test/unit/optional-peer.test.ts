// Optional peer dependencies: a feature used without its package says what to install.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOutboxError } from '../../src/errors/OutboxError.js';
import { importOptionalPeer, isMissingModule } from '../../src/internal/optionalPeer.js';

const peer = { name: 'not-an-installed-package-x', range: '3', feature: 'someStore' };

describe('importOptionalPeer', () => {
  it("turns Node's 'package not found' into missing-dependency naming the install command", async () => {
    const specifier = peer.name; // a variable: TypeScript need not know the module
    const error: unknown = await importOptionalPeer(peer, () => import(specifier)).catch(
      (e: unknown) => e,
    );
    expect(isOutboxError(error) && error.code).toBe('missing-dependency');
    expect((error as Error).message).toContain('someStore');
    expect((error as Error).message).toContain('npm install not-an-installed-package-x@3');
    expect((error as Error).cause).toBeDefined();
  });

  it('rethrows any other failure of the import as is', async () => {
    const boom = new Error('native module did not load');
    const error = await importOptionalPeer(peer, () => Promise.reject(boom)).catch((e) => e);
    expect(error).toBe(boom);
    // a missing module inside another package is not "this package is missing"
    const other = Object.assign(new Error("Cannot find package 'bindings' imported from /x"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    expect(isMissingModule(other, peer.name)).toBe(false);
    expect(isMissingModule(other, 'bindings')).toBe(true);
  });
});

// sqliteStore built the way it is published, into a folder with no node_modules above it, run by
// plain Node (vitest's own resolver would find the project's copy): there, `import('better-sqlite3')`
// really fails as it does in an app that did not install it.
describe('sqliteStore without better-sqlite3 installed', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outbox-no-sqlite-'));
    await build({
      entryPoints: ['src/node.ts'],
      outfile: join(dir, 'node.mjs'),
      bundle: true,
      format: 'esm',
      platform: 'node',
      external: ['better-sqlite3', 'ws'],
      logLevel: 'silent',
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads, and the first operation rejects with missing-dependency: npm install better-sqlite3@12', () => {
    const script = `
      const { sqliteStore } = await import(${JSON.stringify(pathToFileURL(join(dir, 'node.mjs')).href)});
      const store = sqliteStore({ path: ${JSON.stringify(join(dir, 'outbox.db'))} });
      try { await store.open(); console.log(JSON.stringify({ opened: true })); }
      catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as { name?: string; code?: string; message?: string };
    expect(result.name).toBe('OutboxError');
    expect(result.code).toBe('missing-dependency');
    expect(result.message).toMatch(/^sqliteStore needs the package 'better-sqlite3'/);
    expect(result.message).toContain('npm install better-sqlite3@12');
  });
});
