// `npm test`'s package step: what a user installs is complete and installs clean.
//   1. publint --strict (package.json fields and exports against the files)
//   2. attw --pack (types resolve for every entry; profile "esm-only" from .attw.json: this is an
//      ESM-only package, so the node10 and require-from-CJS resolutions are out of scope)
//   3. our own checks on `npm pack`'s file list (below); run after the build.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

for (const [name, args] of [
  ['publint', ['publint', '--strict']],
  ['attw', ['attw', '--pack', '.']],
]) {
  const r = spawnSync('npx', ['--no-install', ...args], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`package: ${name} failed`);
    process.exit(1);
  }
}

const packed = JSON.parse(
  execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }),
)[0];
const files = new Set(packed.files.map((f) => f.path));
const problems = [];

// A license file, since package.json names one.
if (![...files].some((f) => /^LICEN[CS]E(\.md|\.txt)?$/i.test(f))) {
  problems.push(`package.json says "${pkg.license}" but no LICENSE file is packed`);
}

// Every relative link in a packed Markdown file opens a packed file.
for (const md of [...files].filter((f) => f.endsWith('.md'))) {
  const text = readFileSync(join(ROOT, md), 'utf8');
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
    const path = normalize(join(dirname(md), target.split('#')[0])).replaceAll('\\', '/');
    if (path.endsWith('.png') || path.endsWith('.svg')) continue; // images: only shown where hosted
    if (!files.has(path) && ![...files].some((f) => f.startsWith(`${path}/`))) {
      problems.push(`${md} links to ${target}, which is not in the package`);
    }
  }
}

// Source maps carry their sources, or the sources are packed.
for (const map of [...files].filter((f) => f.endsWith('.map'))) {
  const m = JSON.parse(readFileSync(join(ROOT, map), 'utf8'));
  const missing = m.sources.filter(
    (s, i) =>
      typeof m.sourcesContent?.[i] !== 'string' &&
      !files.has(normalize(join(dirname(map), m.sourceRoot ?? '', s)).replaceAll('\\', '/')),
  );
  if (missing.length > 0) problems.push(`${map}: sources neither packed nor inlined: ${missing}`);
}

// Packages the published declarations import are installed with this package, with their types.
const runtime = { ...pkg.dependencies, ...pkg.peerDependencies };
const hasOwnTypes = (name) => {
  const p = join(ROOT, 'node_modules', name, 'package.json');
  if (!existsSync(p)) return false;
  const dep = JSON.parse(readFileSync(p, 'utf8'));
  return Boolean(dep.types ?? dep.typings ?? JSON.stringify(dep.exports ?? {}).includes('types'));
};
for (const dts of [...files].filter((f) => f.endsWith('.d.ts'))) {
  const text = readFileSync(join(ROOT, dts), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  for (const [, spec] of text.matchAll(/(?:from|import\()\s*['"]([^'".][^'"]*)['"]/g)) {
    if (spec.startsWith('node:') || spec.split('/')[0] === pkg.name) continue;
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
    if (!(name in runtime)) {
      problems.push(`${dts} imports '${spec}', which is not a dependency or peer dependency`);
    } else if (!hasOwnTypes(name) && !(`@types/${name}` in runtime)) {
      problems.push(`${dts} imports '${spec}': @types/${name} must be a dependency`);
    }
  }
}

// Nothing that compiles native code is installed with every copy of this package.
for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
  const p = join(ROOT, 'node_modules', name, 'package.json');
  const dep = existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : {};
  const scripts = dep.scripts ?? {};
  if (scripts.install || scripts.preinstall || scripts.postinstall || dep.gypfile) {
    problems.push(
      `${name} runs an install script on every install: make it an optional peer dependency`,
    );
  }
}

for (const p of problems) console.error(`package: ${p}`);
if (problems.length > 0) process.exit(1);
console.log(
  `package: ${files.size} files, ${(packed.size / 1000).toFixed(1)} kB packed, ` +
    `${(packed.unpackedSize / 1000).toFixed(1)} kB unpacked; LICENSE, links, source maps, ` +
    `declaration imports and install scripts ok`,
);
