// Runs once before the browser tests: builds dist/ when it is missing (or BROWSER_TEST_BUILD=1),
// since the pages load the built browser bundle and the fixtures start the built simulator; then
// bundles the React page (React 19 + the built package, as an app's bundler would) with esbuild.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

/** The package by its name, as an app imports it: through package.json's `exports`. */
const selfByExports = {
  name: 'self-by-exports',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^${pkg.name}(/|$)`) }, ({ path }) => {
      const target = pkg.exports[`.${path.slice(pkg.name.length)}`]?.default;
      if (!target) return { errors: [{ text: `${path} is not in package.json's exports` }] };
      return { path: join(ROOT, target) };
    });
  },
};

export default async function globalSetup() {
  const built = ['dist/browser/genesys-webmessaging-outbox.js', 'dist/simulator/index.js'].every(
    (f) => existsSync(join(ROOT, f)),
  );
  if (process.env.BROWSER_TEST_BUILD === '1' || !built) {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  }
  // The package with code splitting, as an app's bundler serves it (the first load plus the
  // chunks it fetches with import()): test/browser/lazy-chunks.spec.mjs, harness.js?lib=split.
  await build({
    entryPoints: { outbox: join(ROOT, 'dist/src/index.js') },
    outdir: join(ROOT, 'test-results/browser-pages/split'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  await build({
    entryPoints: [join(ROOT, 'test/browser/pages/react/chat.jsx')],
    outfile: join(ROOT, 'test-results/browser-pages/react-chat.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"development"' },
    plugins: [selfByExports],
    sourcemap: true,
    logLevel: 'warning',
  });
}
