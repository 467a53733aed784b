// A small seeded PRNG (mulberry32): a seed gives the same schedule on every machine.
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  return {
    next,
    /** An integer in [lo, hi]. */
    int,
    /** true with probability p. */
    chance: (p) => next() < p,
    /** One element of the array. */
    pick: (items) => items[Math.floor(next() * items.length)],
  };
}
