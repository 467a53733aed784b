// Bundle-size budget (enforced in `npm test`): what a visitor downloads when a site imports the
// library the way the README shows, minified by esbuild and gzipped at level 9.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** name → [named imports from the main entry, gzip budget in bytes or null for report only] */
export const entries = {
  'browser: outbox + IndexedDB store + guest transport': [
    ['createOutbox', 'indexedDbStore', 'guestTransport'],
    6 * 1024,
  ],
  'browser: outbox + IndexedDB store + HTTP transport': [
    ['createOutbox', 'indexedDbStore', 'httpTransport'],
    null,
  ],
};

/** Minified and gzipped size of `contents` bundled for the browser. */
export async function measure(contents, resolveDir = root) {
  const result = await build({
    stdin: { contents, resolveDir, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  return { min: code.length, gzip: gzipSync(code, { level: 9 }).length };
}

async function main() {
  let failed = false;
  for (const [name, [names, budget]] of Object.entries(entries)) {
    // Imports from the built package, as a user's bundler would see it; `use` keeps them alive.
    const src = `import { ${names.join(', ')} } from './dist/src/index.js'; globalThis.use = [${names.join(', ')}];`;
    const { min, gzip } = await measure(src);
    const over = budget !== null && gzip > budget;
    failed ||= over;
    console.log(
      `${over ? 'OVER' : 'ok  '} ${name}: ${min} B min, ${gzip} B gzip` +
        (budget === null ? '' : ` (budget ${budget} B)`),
    );
  }
  if (failed) {
    console.error('size budget exceeded');
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
