/**
 * The runtime's seeded pseudo-random numbers: mulberry32 (32-bit state, fast, good enough
 * statistically for drawing one token per step and for random test weights). Sampling draws
 * from `seededRandom(seed)`, so a seed reproduces a generation exactly; tiny checkpoints draw
 * from `mulberry32` streams (tiny/prng.ts), so generated weights stay byte-identical.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
}

/** Uniforms in [0, 1) from a 32-bit state starting at `seed`. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The sampler's stream for a request seed (the seed is mixed with the golden ratio first). */
export function seededRandom(seed: number): Random {
  return { next: mulberry32((Math.trunc(seed) ^ 0x9e3779b9) >>> 0) };
}

/** A seed from the OS random source, for requests that give none. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
