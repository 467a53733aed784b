// Small statistics helpers shared by the benchmark scripts.

export function quantile(values, q) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}

export const median = (values) => quantile(values, 0.5);

export const round = (x, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

/** Writes the script's result object where bench/run.mjs asked (BENCH_OUT), and prints it. */
export async function emit(result) {
  const { writeFileSync } = await import('node:fs');
  const out = process.env.BENCH_OUT;
  if (out) writeFileSync(out, JSON.stringify(result, null, 2));
  else console.log(JSON.stringify(result, null, 2));
}
