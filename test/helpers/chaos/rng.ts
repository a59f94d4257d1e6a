/**
 * A seeded PRNG (mulberry32): the same seed gives the same sequence of choices, so a chaos run can
 * be replayed (what the cluster answers may still differ between runs: timing is not seeded).
 */
export interface Rng {
  seed: number;
  /** In [0, 1). */
  next(): number;
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(xs: readonly T[]): T;
  /** A key of `weights`, with probability proportional to its weight. */
  weighted<K extends string>(weights: Record<K, number>): K;
  hex(bytes: number): string;
}

export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return {
    seed,
    next,
    int,
    chance: (p) => next() < p,
    pick: (xs) => {
      if (!xs.length) throw new Error('pick from an empty list');
      return xs[int(0, xs.length - 1)]!;
    },
    weighted(weights) {
      const entries = Object.entries(weights) as [keyof typeof weights, number][];
      const total = entries.reduce((s, [, w]) => s + w, 0);
      let x = next() * total;
      for (const [k, w] of entries) if ((x -= w) < 0) return k;
      return entries.at(-1)![0];
    },
    hex(bytes) {
      let s = '';
      for (let i = 0; i < bytes; i++) s += int(0, 255).toString(16).padStart(2, '0');
      return s;
    },
  };
}

/** The seed to use: HEARTH_CHAOS_SEED when set, else a fresh random one (printed by the run). */
export function chaosSeed(fallback?: number): number {
  const env = process.env.HEARTH_CHAOS_SEED;
  if (env) return Number(env) >>> 0;
  return fallback ?? Math.floor(Math.random() * 2 ** 32);
}
