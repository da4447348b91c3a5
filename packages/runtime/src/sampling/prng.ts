/**
 * Seeded pseudo-random numbers for sampling, so that a seed reproduces a generation exactly.
 * Mulberry32: 32-bit state, fast, good enough statistically for drawing one token per step.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
}

export function seededRandom(seed: number): Random {
  let state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  return {
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** A seed from the OS random source, for requests that give none. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
