// `npm test`: the whole gate, in order. Stops at the first failing step.
import { spawnSync } from 'node:child_process';

const steps = [
  ['typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
  ['lint', 'npx', ['eslint', '.']],
  ['format', 'npx', ['prettier', '--check', '.']],
  ['build', 'node', ['scripts/build.mjs']],
  ['package', 'node', ['scripts/package-check.mjs']],
  ['size', 'node', ['scripts/size.mjs', '--breakdown']],
  ['unit + integration', 'npx', ['vitest', 'run']],
  ['browser', 'npx', ['playwright', 'test']],
  // the fixed seeds of the chaos suite (test/chaos/seeds.mjs); `npm run chaos` is the full run
  ['chaos (fixed seeds)', 'node', ['test/chaos/run.mjs', '--quick']],
];

const only = process.argv.slice(2);
for (const [name, cmd, args] of steps) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(`\n=== ${name} ===`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\n${name} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
  console.log(`--- ${name} ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
