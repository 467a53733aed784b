// Bundles the library and the simulator from their TypeScript sources into one ESM file for child
// processes (workers) to import: fresh without `npm run build`; packages stay external.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Builds `.tmp/test/<name>.mjs` and returns its file URL (for `import()`). */
export async function compileLib(name: string): Promise<string> {
  const dir = join(root, '.tmp', 'test');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, `${name}.mjs`);
  await build({
    bundle: true,
    format: 'esm',
    target: ['es2022'],
    logLevel: 'warning',
    absWorkingDir: root,
    stdin: {
      resolveDir: root,
      loader: 'ts',
      contents: `export * from './src/index.ts';
        export * from './src/node.ts';
        export { startSimulator } from './simulator/index.ts';`,
    },
    platform: 'node',
    packages: 'external',
    outfile,
  });
  return pathToFileURL(outfile).href;
}
