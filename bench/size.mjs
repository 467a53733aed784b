// 5. Bundle size, minified + gzipped (level 9), measured by `measure` from scripts/size.mjs (the
// same function as the 6 KB budget check in `npm test`): the library as a user imports it
// (createOutbox + indexedDbStore + guestTransport), the HTTP-only subset, and
// workbox-background-sync's Queue.
// (esbuild, minifying for the browser, defines process.env.NODE_ENV as "production" itself, so
// Workbox's development-only code is dropped as in a real service-worker build.)
// Measured from src/ like every other benchmark (a dist/ left from an older build cannot skew it).
import { BUDGET, PREFETCHED, measure } from '../scripts/size.mjs';
import { emit } from './lib/stats.mjs';

const entry = './src/index.ts';
const use = (names, from) =>
  `import { ${names.join(', ')} } from '${from}'; globalThis.use = [${names.join(', ')}];`;

// PREFETCHED names the built package's modules (.js); built from src/ they are the .ts files.
const prefetched = PREFETCHED.map((m) => m.replace(/\.js$/, '.ts'));
const rows = {
  'outbox + IndexedDB store + guest transport': await measure(
    use(['createOutbox', 'indexedDbStore', 'guestTransport'], entry),
    undefined,
    prefetched,
  ),
  'outbox + IndexedDB store + HTTP transport': await measure(
    use(['createOutbox', 'indexedDbStore', 'httpTransport'], entry),
    undefined,
    prefetched,
  ),
  'workbox-background-sync Queue': await measure(
    use(['Queue'], 'workbox-background-sync'),
    undefined,
    [],
  ),
};
await emit({ source: entry, budgetBytes: BUDGET.guest, rows });
