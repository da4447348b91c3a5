/**
 * Seeded random numbers for tiny checkpoints: mulberry32 for uniforms, Box-Muller for normals.
 * Each tensor gets its own stream derived from (seed, tensor name), so a tensor's values do
 * not depend on which other tensors exist or in which order they are generated.
 */
import { mulberry32 } from '../sampling/prng.js';

/** FNV-1a over the UTF-16 code units of a string. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class TensorRandom {
  private readonly uniform: () => number;
  private spare: number | undefined;

  constructor(seed: number, name: string) {
    this.uniform = mulberry32((fnv1a(name) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uniform();
  }

  /** Standard normal; Box-Muller yields two per pair of uniforms, the second is kept. */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u1 = 1 - this.uniform(); // (0, 1]: log never sees 0
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }
}
