import type { TextSpec } from './config.js';

const f = Math.fround;

/**
 * Rotary inverse frequencies as HF computes them in float32, with llama3 scaling applied the
 * way transformers 4.45 `_compute_llama3_parameters` does (each step rounded to f32).
 */
export function ropeInvFreq(spec: Pick<TextSpec, 'headDim' | 'ropeTheta' | 'ropeScaling'>): Float32Array {
  const dim = spec.headDim;
  const half = dim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const exponent = f((2 * i) / dim);
    inv[i] = f(1 / f(Math.pow(spec.ropeTheta, exponent)));
  }
  const s = spec.ropeScaling;
  if (!s) return inv;
  const lowFreqWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const wavelen = f((2 * Math.PI) / inv[i]);
    let v = wavelen > lowFreqWavelen ? f(inv[i] / s.factor) : inv[i];
    const smooth = f(f(f(s.originalMaxPositionEmbeddings / wavelen) - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor));
    const smoothed = f(f(f(f(1 - smooth) * v) / s.factor) + f(smooth * v));
    const isMedium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    if (isMedium) v = smoothed;
    out[i] = v;
  }
  return out;
}

/**
 * cos/sin caches [positions, headDim/2] for fused rotary ops. The angle is rounded to f32 first,
 * as HF computes `position * inv_freq` in f32, so large positions keep HF's exact phase.
 */
export function ropeCaches(invFreq: Float32Array, positions: number): { cos: Float32Array; sin: Float32Array } {
  const half = invFreq.length;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++)
    for (let i = 0; i < half; i++) {
      const angle = f(p * invFreq[i]);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  return { cos, sin };
}
