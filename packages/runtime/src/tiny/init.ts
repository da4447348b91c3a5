import { TensorRandom } from './prng.js';
import type { TinyParameter } from './parameters.js';

/** The parameter's values as f32, drawn from its own seeded stream. */
export function initialValues(p: TinyParameter, seed: number): Float32Array {
  const n = p.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const rng = new TensorRandom(seed, p.name);
  const fanIn = n / p.shape[0];
  switch (p.init) {
    case 'matrix':
    case 'lm_head': {
      const scale = (p.init === 'lm_head' ? 4 : 1) / Math.sqrt(fanIn);
      for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
      break;
    }
    case 'embed':
      for (let i = 0; i < n; i++) out[i] = rng.normal();
      break;
    case 'position':
      for (let i = 0; i < n; i++) out[i] = 0.5 * rng.normal();
      break;
    case 'norm':
      for (let i = 0; i < n; i++) out[i] = 1 + 0.2 * rng.normal();
      break;
    case 'bias':
      for (let i = 0; i < n; i++) out[i] = 0.1 * rng.normal();
      break;
    case 'gate':
      for (let i = 0; i < n; i++) {
        const sign = rng.next() < 0.5 ? -1 : 1;
        out[i] = sign * (0.5 + rng.next());
      }
      break;
  }
  return out;
}
