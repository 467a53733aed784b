// Bundles the library straight from its TypeScript sources (so the benchmarks do not depend on a
// fresh `npm run build`) into .tmp/bench/: one ESM file for Node, one for the browser page.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const outDir = join(root, '.tmp', 'bench');

const common = {
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  logLevel: 'warning',
  absWorkingDir: root,
};

/** Node bundle: library (main + node entries + guest transport) and simulator; packages external. */
export async function compileNode() {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, 'node-lib.mjs');
  await build({
    ...common,
    stdin: {
      resolveDir: root,
      loader: 'ts',
      contents: `
        export * from './src/index.ts';
        export * from './src/node.ts';
        export { guestTransport } from './src/transport/guest.ts';
        export { startSimulator } from './simulator/index.ts';`,
    },
    platform: 'node',
    packages: 'external',
    outfile,
  });
  return outfile;
}

/**
 * `bench-before-lib` in the page: the library of another checkout (`BENCH_BEFORE=<its root>`, which
 * holds `src/`), for contenders named `before-<kind>` measured side by side with `<kind>` in one
 * run; without BENCH_BEFORE, this checkout's library again.
 */
const beforeLibrary = {
  name: 'bench-before-lib',
  setup(b) {
    b.onResolve({ filter: /^bench-before-lib$/ }, () => ({
      path: join(process.env.BENCH_BEFORE ?? root, 'src', 'index.ts'),
    }));
  },
};

/**
 * Browser bundle for the benchmark page: the library (minified like a user's production build),
 * workbox-background-sync's Queue, and the page harness in bench/browser/page.js. `minify: false`
 * (the profiler, bench/profile-enqueue.mjs) keeps names and esbuild's `// path` module markers.
 */
export async function compileBrowser({ minify = true } = {}) {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, 'page.js');
  await build({
    ...common,
    entryPoints: [join(root, 'bench', 'browser', 'page.js')],
    plugins: [beforeLibrary],
    platform: 'browser',
    minify,
    define: { 'process.env.NODE_ENV': '"production"' },
    outfile,
  });
  return outfile;
}

/** One TypeScript module (e.g. a test helper) bundled for a benchmark script; returns its path. */
export async function compileModule(path, name) {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, `${name}.mjs`);
  await build({
    ...common,
    entryPoints: [join(root, path)],
    platform: 'node',
    packages: 'external',
    outfile,
  });
  return outfile;
}
