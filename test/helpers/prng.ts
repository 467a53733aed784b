/** A small seeded generator (xorshift32) for fault schedules: the same seed, the same schedule. */
export function prng(seed: number): { int(lo: number, hi: number): number } {
  let x = seed * 2654435761 || 1;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  return { int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}
