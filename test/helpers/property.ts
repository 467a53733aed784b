import type fc from 'fast-check';

/**
 * fast-check parameters for the property tests. `npm test` runs a fixed seed and a bounded number
 * of runs, so it is fast and reproducible; `PROPERTY_RUNS=500 PROPERTY_SEED=123 npx vitest run …`
 * runs more (or other) programs. A failure prints its seed and the shrunk counterexample.
 */
export function propertyParams(defaultRuns: number): fc.Parameters<unknown> {
  const runs = Number(process.env.PROPERTY_RUNS || 'NaN');
  const seed = Number(process.env.PROPERTY_SEED || 'NaN');
  return {
    numRuns: Number.isInteger(runs) && runs > 0 ? runs : defaultRuns,
    seed: Number.isInteger(seed) ? seed : 20260602,
    // Wall-clock budget per property is not used: runs are counted, never timed.
  };
}
