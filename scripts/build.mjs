// Build: type-checked ESM + declarations with tsc, then the browser bundle with esbuild.
import { rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
  stdio: 'inherit',
});

// The browser bundle as a user's bundler would produce it: the main entry, minified, ESM.
await build({
  entryPoints: { 'genesys-webmessaging-outbox': 'src/index.ts' },
  outdir: 'dist/browser',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
