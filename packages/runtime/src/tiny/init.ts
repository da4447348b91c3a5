import { TensorRandom } from './prng.js';
import type { ParameterSpec } from '../files/index.js';

/**
 * The parameter's values as f32, drawn from its own seeded stream, by the reference
 * generator's rules: matrices N(0,1)/sqrt(fan_in), lm_head 4 N(0,1)/sqrt(hidden), embeddings
 * N(0,1), position/tile embeddings 0.5 N(0,1), norms 1 + 0.2 N(0,1), biases 0.1 N(0,1) and
 * scalar gates ±U(0.5, 1.5) so that gated paths really contribute (HF's own init zeroes them).
 */
export function initialValues(p: ParameterSpec, seed: number): Float32Array {
  const n = p.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const rng = new TensorRandom(seed, p.name);
  const fanIn = n / p.shape[0];
  switch (p.kind) {
    case 'matrix':
    case 'lm_head': {
      const scale = (p.kind === 'lm_head' ? 4 : 1) / Math.sqrt(fanIn);
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
