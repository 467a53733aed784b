// Bundle-size budget (enforced in `npm test`): what a visitor downloads when a site imports the
// library the way the README shows, minified by esbuild and gzipped at level 9.
// Bundled with code splitting, as an app bundler would: rarely needed paths that the library
// loads with `import()` land in separate chunks. The budget applies to the ENTRY chunk (what
// every visitor downloads at first load); the total of all chunks is printed beside it.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The project's goal for the first load, in gzip bytes (not met yet: see LIMIT). */
export const TARGET = 6 * 1024;
/**
 * The enforced limit: the first load achieved so far, rounded up to the next 256 B, so that any
 * regression fails the build. Lower it as the bundle shrinks; TARGET stays. History: 15374 B after
 * the first benchmark fixes; 15678 B (+304 B) with the second round (tabs say hello/bye on the
 * channel so a lone tab posts nothing per send, adds on the plain IndexedDB transaction, a
 * delivered entry's line and removal in one transaction): each bought a measured gain in
 * BENCHMARKS.md, so the limit was raised once, deliberately. 16128 B (+256 B) for issue 10's
 * reliability fixes, which a visitor's first load needs: a Node process awaiting whenSettled/flush
 * is kept alive (rule 12), a second close() waits for the first, 429s are bounded (floor, counted
 * as attempts), an unknown deployment fails at once. 16384 B (+256 B) for issue 12: the Node
 * network probe's wiring (alwaysOnline(endpoint) and Transport.endpoint, about 105 B; the probe
 * itself is a lazy chunk) shares the default-connectivity code with browsers, and the limit had
 * 65 B left after issue 10's delivery fixes.
 * 16640 B (+256 B) for issue 10's transcript order (rule 13: a line's place is fixed when
 * written), raised at the same time as the one above: the order given at send, kept when a line
 * is replaced, the IndexedDB v3 upgrade, about 200 B; placing agent lines is a lazy chunk
 * (place.ts, ~480 B gzip) that the first load does not carry.
 * 17152 B (+512 B) for issue 10's bad-input boundary: createOutbox refuses unknown
 * option names (listing the valid ones), option objects without their methods and throwing
 * getters; send() refuses zero-width/control-only text, U+0000, lone surrogates, huge or
 * `__proto__` metadata (about 650 B).
 * 17408 B (+256 B; 17389 B measured) for privacy (issue 14): Outbox.wipe() and the wiped event
 * across tabs, the guest transport's clear of the Genesys session, the IndexedDB store's wipe()
 * and the refusal to open an encrypted store without its key. The encryption itself (2.6 kB
 * gzip) and the deletion code are lazy chunks, loaded only when used.
 * 18432 B (+1024 B; 18276 B measured) for two pieces landed together: the drain whose cost per
 * delivery is flat in the number of waiting conversations, with PostgreSQL's claim mode (issue 13:
 * IndexedDB's `headOf` and the dispatcher's hooks, ~190 B of claim code a lazy chunk could take
 * off again; the head book itself, ~750 B, is a lazy chunk), and the guest transport's
 * correctness fixes of issues 10 and 11 (~435 B: in-doubt stored with the entry; the session
 * handled as Genesys' SDK does). Issue 15 is to bring the first load down to its budget.
 */
export const LIMIT = 18432;

/** name → [named imports from the main entry, enforced gzip limit of the entry chunk, or null for report only] */
export const entries = {
  'browser: outbox + IndexedDB store + guest transport': [
    ['createOutbox', 'indexedDbStore', 'guestTransport'],
    LIMIT,
  ],
  'browser: outbox + IndexedDB store + HTTP transport': [
    ['createOutbox', 'indexedDbStore', 'httpTransport'],
    null,
  ],
};

const sizeOf = (code) => ({ min: code.length, gzip: gzipSync(code, { level: 9 }).length });

/**
 * Minified and gzipped size of `contents` bundled for the browser with code splitting.
 * `min`/`gzip`: what the first load downloads (the entry chunk and any chunk it imports
 * statically); `total`: every chunk summed (each gzipped separately, as they are served);
 * `chunks`: every output file by name, flagged `firstLoad` or lazy.
 */
export async function measure(contents, resolveDir = root) {
  const outdir = mkdtempSync(join(tmpdir(), 'outbox-size-'));
  try {
    const result = await build({
      stdin: { contents, resolveDir, loader: 'js' },
      bundle: true,
      splitting: true,
      format: 'esm',
      outdir,
      platform: 'browser',
      target: ['es2022'],
      minify: true,
      write: false,
      legalComments: 'none',
      logLevel: 'silent',
      metafile: true,
    });
    // First load = the entry chunk plus the chunks it imports statically (shared code esbuild
    // moved out of it); chunks reached only through `import()` are loaded later, if ever.
    const outputs = result.metafile.outputs;
    const key = (file) => relative(process.cwd(), file.path);
    const sizes = new Map(result.outputFiles.map((f) => [key(f), sizeOf(f.contents)]));
    const entryKey = [...sizes.keys()].find((k) => outputs[k]?.entryPoint !== undefined);
    if (entryKey === undefined) throw new Error('size: no entry chunk in the build output');
    const firstLoad = new Set();
    const visit = (k) => {
      if (firstLoad.has(k)) return;
      firstLoad.add(k);
      for (const i of outputs[k].imports) if (i.kind === 'import-statement') visit(i.path);
    };
    visit(entryKey);
    const entry = { min: 0, gzip: 0 };
    const total = { min: 0, gzip: 0 };
    const chunks = {};
    for (const [k, size] of sizes) {
      for (const sum of firstLoad.has(k) ? [entry, total] : [total]) {
        sum.min += size.min;
        sum.gzip += size.gzip;
      }
      const name = k.slice(k.lastIndexOf('/') + 1);
      chunks[name] = { ...size, firstLoad: firstLoad.has(k), entry: k === entryKey };
    }
    return { ...entry, total, chunks };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

async function main() {
  let failed = false;
  for (const [name, [names, limit]] of Object.entries(entries)) {
    // Imports from the built package, as a user's bundler would see it; `use` keeps them alive.
    const src = `import { ${names.join(', ')} } from './dist/src/index.js'; globalThis.use = [${names.join(', ')}];`;
    const { min, gzip, total, chunks } = await measure(src);
    const over = limit !== null && gzip > limit;
    failed ||= over;
    console.log(`${over ? 'OVER' : 'ok  '} ${name}`);
    for (const [file, size] of Object.entries(chunks)) {
      const role = size.entry ? 'entry chunk' : size.firstLoad ? 'shared chunk' : 'lazy chunk';
      const when = size.firstLoad ? 'first load' : 'loaded by import() when needed';
      console.log(`       ${role} ${file} (${when}): ${size.min} B min, ${size.gzip} B gzip`);
    }
    console.log(
      `     FIRST LOAD (entry + shared chunks): ${min} B min, ${gzip} B gzip` +
        (limit === null ? '' : ` (enforced limit ${limit} B, target ${TARGET} B)`),
    );
    console.log(`     ALL CHUNKS: ${total.min} B min, ${total.gzip} B gzip`);
    if (limit !== null && gzip > TARGET) {
      console.log(`     the ${TARGET} B target is missed by ${gzip - TARGET} B (first load, gzip)`);
    }
  }
  if (failed) {
    console.error('size budget exceeded');
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
