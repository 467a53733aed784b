// Bundle-size budget (enforced in `npm test`): what a visitor downloads when a site imports the
// library the way the README shows, minified by esbuild and gzipped at level 9.
// Bundled with code splitting, as an app bundler would: code the library loads with `import()`
// lands in separate chunks. The limit applies to the FIRST LOAD (the entry chunk and the chunks it
// imports statically: what every visitor downloads before the outbox can store a message). Beside
// it: the chunks the outbox fetches as soon as it starts (PREFETCHED: the delivery engine), and
// the total of all chunks. `--breakdown` adds the first load's bytes per source module.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The budgets of issue 15, in gzip bytes of the first load. */
export const BUDGET = { guest: 10 * 1024, http: 7 * 1024 };
/**
 * The enforced limits. History of the guest one (the only one enforced before issue 15): 15374 B
 * after the first benchmark fixes, then raised step by step to 18432 B (18297 B measured) by the
 * reliability, transcript-order, bad-input, privacy, server-path and guest-fidelity work of
 * issues 10-14 (see git log of this file), then to 18688 B (18447 B measured) for issue 12: the
 * HTTP and guest transports and the IndexedDB store refuse unknown option names as createOutbox
 * does (~120 B), the guest transport stops reconnecting after an unknown deployment and marks
 * where a new Genesys conversation begins in the transcript (~30 B). Issue 15 brings the first
 * load down to its budget; a limit above a budget says by how much it is missed (see BENCHMARKS.md):
 * 16896 B / 12416 B (16749 B / 12294 B measured) once the drain loop became a chunk fetched at start,
 * 12032 B / 11264 B (11880 B / 11111 B) once the guest protocol client and the HTTP sender did,
 * 11392 B / 10624 B (11306 B / 10535 B) once the transcript's reads and writes and the Web Locks
 * coordinator did, 11264 B / 10496 B (11163 B / 10394 B) with one number-option check and the
 * delivery's recording in the drain loop's chunk; then the guest one is its budget (10096 B
 * measured) and the HTTP one 9344 B (9250 B) once the IndexedDB store's operations other than
 * open/append and the outbox's whenSettled/retry/discard/flush became chunks fetched at start and
 * the small modules the lazy chunks shared with the first load (one gzip stream each) were folded
 * back into it; 9216 B (9136 B; guest 9981 B) once the IndexedDB upgrade steps from older schemas
 * became a chunk fetched at open; 8576 B (8529 B; guest 9367 B) once the first load was one file
 * (the chunks take what they use of it as arguments, see FIRST_LOAD_FILES); 8416 B (8372 B) once
 * httpTransport's token function is cached by the sender's chunk; 8256 B (8213 B; guest 9223 B)
 * once browserConnectivity's probe and wake-ups became a chunk fetched at creation; 8160 B
 * (8107 B; guest 9109 B) once defaultCoordinator's choice between Web Locks and the lease became
 * the chunk that brings the Web Locks coordinator; 7840 B (7806 B; guest 8858 B) once close(),
 * wipe() and list() moved into the methods chunk, the store's chunks wrote out the schema's
 * names, the HTTP sender applied the default body and the ops chunk told a lost connection
 * (session 8); 7744 B (7722 B; guest 8768 B) once setMeta joined the ops chunk and the
 * outbox's chunk methods were attached by name; 7648 B (7644 B; guest 8688 B) once the drain
 * loop's and the methods' chunks derived from their host object what they had been handed
 * apart; 7640 B (7636 B; guest 8680 B) with OutboxError's fields declared instead of defined;
 * 7512 B (7508 B; guest 8556 B) once a new database's layout was made by the upgrade chunk
 * (session 9); 7416 B (7414 B; guest 8459 B) once every open that makes or upgrades the layout,
 * and the wait on a blocked one, was the upgrade chunk's; 7352 B (7351 B; guest 8397 B) once the
 * methods chunk told the whenSettled callers itself; 7344 B (7343 B; guest 8384 B) with one
 * optional call for unref; raised to 7360 B (7353 B; guest 8393 B) in session 10 for a fix: the
 * IndexedDB store's `setMetaIfAbsent` (two tabs on a first visit kept two guest session tokens
 * and two generated encryption keys), one more name in the ops chunk's list; 7136 B (7133 B;
 * guest 8167 B), under its budget, once the first load's chunk methods were bound by one
 * `Chunk.bind`, the outbox's closed check was left to its methods chunk, the store's transaction
 * runner waited on one promise of its commit, and the store, createOutbox and OutboxError were
 * read for size (session 10). Then, as issue 15 asks, the limit is the budget (not today's
 * size): 7168 B, with 35 B to spare.
 */
export const LIMIT = { guest: BUDGET.guest, http: BUDGET.http };

/**
 * Modules that the outbox starts fetching as soon as it starts (`import()` at `createOutbox` or
 * at the transport's start, not awaited), so a page that loaded online has them before the network
 * can drop. Their chunks are reported apart from the chunks loaded only when a feature is used,
 * and a module listed here that is not a lazy chunk of the build fails the check (the list cannot
 * go stale). Paths as the bundler sees them (the built package).
 */
export const PREFETCHED = [
  'src/transcript/lines.js',
  'src/coordination/pick.js',
  'src/outbox/dispatcher.js',
  'src/transport/guest/session.js',
  'src/transport/post.js',
  'src/store/indexedDbOps.js',
  'src/outbox/methods.js',
  'src/store/indexedDbUpgrade.js',
  'src/connectivity/browserProbe.js',
];

/**
 * Files in the first load. One: a module that the first load and a lazy chunk both import
 * becomes a file of its own in the user's build, gzipped apart (at 9,168 B the HTTP set's first
 * load was four files, 630 B more than the same code as one). The chunks take what they need of
 * the first load as arguments instead; a second first-load file fails the check and names its
 * modules.
 */
export const FIRST_LOAD_FILES = 1;

/** name → [named imports from the main entry, enforced gzip limit of the first load, budget] */
export const entries = {
  'browser: outbox + IndexedDB store + guest transport': [
    ['createOutbox', 'indexedDbStore', 'guestTransport'],
    LIMIT.guest,
    BUDGET.guest,
  ],
  'browser: outbox + IndexedDB store + HTTP transport': [
    ['createOutbox', 'indexedDbStore', 'httpTransport'],
    LIMIT.http,
    BUDGET.http,
  ],
};

const sizeOf = (code) => ({ min: code.length, gzip: gzipSync(code, { level: 9 }).length });

/**
 * Minified and gzipped size of `contents` bundled for the browser with code splitting.
 * `min`/`gzip`: what the first load downloads (the entry chunk and any chunk it imports
 * statically); `prefetched`: the lazy chunks of PREFETCHED modules (and what they import
 * statically), fetched when the outbox starts; `total`: every chunk summed (each gzipped
 * separately, as they are served); `chunks`: every output file by name, with its role;
 * `modules`: bytes of minified output per source module in the first load (esbuild metafile).
 */
export async function measure(contents, resolveDir = root, prefetched = PREFETCHED) {
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
    const entryKey = [...sizes.keys()].find((k) => outputs[k]?.entryPoint === '<stdin>');
    if (entryKey === undefined) throw new Error('size: no entry chunk in the build output');
    const closure = (start, into) => {
      const visit = (k) => {
        if (into.has(k)) return;
        into.add(k);
        for (const i of outputs[k].imports) if (i.kind === 'import-statement') visit(i.path);
      };
      visit(start);
      return into;
    };
    const firstLoad = closure(entryKey, new Set());
    // A prefetched module counts where the first load imports it (esbuild also emits chunks for
    // the import() of modules it shook off, e.g. the HTTP sender in the guest build).
    const imported = new Set(
      [...firstLoad].flatMap((k) =>
        outputs[k].imports.filter((i) => i.kind === 'dynamic-import').map((i) => i.path),
      ),
    );
    const early = new Set();
    for (const module of prefetched) {
      const chunk = [...sizes.keys()].find((k) => outputs[k]?.entryPoint?.endsWith(module));
      if (chunk === undefined) throw new Error(`size: ${module} is not a lazy chunk of the build`);
      if (imported.has(chunk)) closure(chunk, early);
    }
    for (const k of firstLoad) early.delete(k);
    const entry = { min: 0, gzip: 0 };
    const atStart = { min: 0, gzip: 0 };
    const total = { min: 0, gzip: 0 };
    const chunks = {};
    for (const [k, size] of sizes) {
      const role = firstLoad.has(k) ? 'first load' : early.has(k) ? 'prefetched' : 'lazy';
      for (const sum of role === 'first load'
        ? [entry, total]
        : role === 'prefetched'
          ? [atStart, total]
          : [total]) {
        sum.min += size.min;
        sum.gzip += size.gzip;
      }
      const name = k.slice(k.lastIndexOf('/') + 1);
      const inputs = Object.keys(outputs[k].inputs).map((i) => i.replace(/^(dist\/)?src\//, ''));
      chunks[name] = {
        ...size,
        role,
        entry: k === entryKey,
        firstLoad: role === 'first load',
        inputs,
      };
    }
    const modules = {};
    for (const k of firstLoad) {
      for (const [input, { bytesInOutput }] of Object.entries(outputs[k].inputs)) {
        const m = input.replace(/^(dist\/)?src\//, '').replace(/\.[jt]s$/, '');
        modules[m] = (modules[m] ?? 0) + bytesInOutput;
      }
    }
    return { ...entry, prefetched: atStart, total, chunks, modules };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const ROLES = {
  'first load': 'first load',
  prefetched: 'fetched when the outbox starts',
  lazy: 'loaded by import() only when its feature is used',
};

async function main() {
  const breakdown = process.argv.includes('--breakdown');
  let failed = false;
  for (const [name, [names, limit, budget]] of Object.entries(entries)) {
    // Imports from the built package, as a user's bundler would see it; `use` keeps them alive.
    const src = `import { ${names.join(', ')} } from './dist/src/index.js'; globalThis.use = [${names.join(', ')}];`;
    const { min, gzip, prefetched, total, chunks, modules } = await measure(src);
    const files = Object.values(chunks).filter((c) => c.firstLoad);
    const over = gzip > limit || files.length > FIRST_LOAD_FILES;
    failed ||= over;
    console.log(`${over ? 'OVER' : 'ok  '} ${name}`);
    for (const [file, size] of Object.entries(chunks)) {
      const role = size.entry
        ? 'entry chunk'
        : size.firstLoad
          ? 'shared chunk'
          : `${size.role} chunk`;
      console.log(
        `       ${role} ${file} (${ROLES[size.role]}): ${size.min} B min, ${size.gzip} B gzip`,
      );
    }
    console.log(
      `     FIRST LOAD (entry + shared chunks): ${min} B min, ${gzip} B gzip (enforced limit ${limit} B, budget ${budget} B)`,
    );
    console.log(
      `     PREFETCHED AT START (lazy chunks fetched when the outbox starts): ${prefetched.min} B min, ${prefetched.gzip} B gzip; first load + prefetched: ${gzip + prefetched.gzip} B gzip`,
    );
    console.log(`     ALL CHUNKS: ${total.min} B min, ${total.gzip} B gzip`);
    if (files.length > FIRST_LOAD_FILES) {
      console.log(
        `     the first load is ${files.length} files, not ${FIRST_LOAD_FILES}: modules shared with a lazy chunk: ${files
          .filter((c) => !c.entry)
          .flatMap((c) => c.inputs)
          .join(', ')}`,
      );
    }
    if (gzip > budget) {
      console.log(`     the ${budget} B budget is missed by ${gzip - budget} B (first load, gzip)`);
    }
    if (breakdown) {
      console.log('     first load by module (minified bytes in the output, esbuild metafile):');
      for (const [m, bytes] of Object.entries(modules).sort((a, b) => b[1] - a[1])) {
        if (bytes > 0) console.log(`       ${String(bytes).padStart(6)}  ${m}`);
      }
    }
  }
  if (failed) {
    console.error('size limit exceeded');
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
