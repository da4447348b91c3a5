/**
 * Asymmetric 4-bit block quantisation in the layout com.microsoft MatMulNBits reads (the same
 * scheme as onnxruntime's own quantiser with is_symmetric=False):
 * - B [N, K/block, block/2] uint8, element 2j of a block in the low nibble, 2j+1 in the high one;
 * - scales [N * K/block] f32;
 * - zero points [N * ceil((K/block)/2)] uint8, two 4-bit points per byte (low nibble first).
 * Each block's range is widened to include 0, so zeros stay exact, then narrowed by the factor
 * (of 1, 0.95, ..., 0.7) whose rounding error is least (see clippedBlockScale). Dequantised:
 * (q - zp) * scale.
 */
export interface Int4Blocks {
  packed: Uint8Array;
  scales: Float32Array;
  zeroPoints: Uint8Array;
}

export function quantizeInt4(w: Float32Array, n: number, k: number, block: number): Int4Blocks {
  const blocks = k / block;
  const zpBytes = Math.ceil(blocks / 2);
  const packed = new Uint8Array(n * blocks * (block / 2));
  const scales = new Float32Array(n * blocks);
  const zeroPoints = new Uint8Array(n * zpBytes);
  for (let row = 0; row < n; row++) {
    for (let b = 0; b < blocks; b++) {
      const base = row * k + b * block;
      const { scale, zp } = clippedBlockScale(w, base, block, 15);
      scales[row * blocks + b] = scale;
      zeroPoints[row * zpBytes + (b >> 1)] |= zp << ((b & 1) * 4);
      const out = (row * blocks + b) * (block / 2);
      for (let j = 0; j < block; j += 2) {
        const q0 = Math.min(15, Math.max(0, Math.round(w[base + j] / scale) + zp));
        const q1 = Math.min(15, Math.max(0, Math.round(w[base + j + 1] / scale) + zp));
        packed[out + j / 2] = q0 | (q1 << 4);
      }
    }
  }
  return { packed, scales, zeroPoints };
}

/** The weights MatMulNBits sees: (q - zp) * scale, [N, K]. */
export function dequantizeInt4(q: Int4Blocks, n: number, k: number, block: number): Float32Array {
  const out = new Float32Array(n * k);
  const blocks = k / block;
  const zpBytes = Math.ceil(blocks / 2);
  for (let row = 0; row < n; row++)
    for (let b = 0; b < blocks; b++) {
      const scale = q.scales[row * blocks + b];
      const zp = (q.zeroPoints[row * zpBytes + (b >> 1)] >> ((b & 1) * 4)) & 15;
      const base = (row * blocks + b) * (block / 2);
      for (let j = 0; j < block; j += 2) {
        const byte = q.packed[base + j / 2];
        out[row * k + b * block + j] = ((byte & 15) - zp) * scale;
        out[row * k + b * block + j + 1] = ((byte >> 4) - zp) * scale;
      }
    }
  return out;
}

/**
 * Asymmetric 8-bit block quantisation in MatMulNBits' layout for bits = 8: B [N, K/block, block]
 * uint8, scales [N * K/block], one zero point byte per block [N * K/block]. Each block's range is
 * widened to include 0. Dequantised: (q - zp) * scale.
 */
export function quantizeInt8(w: Float32Array, n: number, k: number, block: number): Int4Blocks {
  const blocks = k / block;
  const packed = new Uint8Array(n * k);
  const scales = new Float32Array(n * blocks);
  const zeroPoints = new Uint8Array(n * blocks);
  for (let row = 0; row < n; row++)
    for (let b = 0; b < blocks; b++) {
      const base = row * k + b * block;
      const { scale, zp } = blockScale(w, base, block, 255);
      scales[row * blocks + b] = scale;
      zeroPoints[row * blocks + b] = zp;
      for (let j = 0; j < block; j++) packed[base + j] = Math.min(255, Math.max(0, Math.round(w[base + j] / scale) + zp));
    }
  return { packed, scales, zeroPoints };
}

/** The weights MatMulNBits (bits = 8) sees: (q - zp) * scale, [N, K]. */
export function dequantizeInt8(q: Int4Blocks, n: number, k: number, block: number): Float32Array {
  const out = new Float32Array(n * k);
  const blocks = k / block;
  for (let row = 0; row < n; row++)
    for (let b = 0; b < blocks; b++) {
      const scale = q.scales[row * blocks + b];
      const zp = q.zeroPoints[row * blocks + b];
      for (let j = 0; j < block; j++) out[row * k + b * block + j] = (q.packed[row * k + b * block + j] - zp) * scale;
    }
  return out;
}

/**
 * Asymmetric block quantisation's step and zero point for `block` weights from `base`: the
 * range always includes 0 (so zeros stay exact), split into `levels` steps (15 for 4 bits, 255
 * for 8).
 */
function blockScale(w: Float32Array, base: number, block: number, levels: number): { scale: number; zp: number } {
  const { lo, hi } = blockRange(w, base, block);
  const scale = Math.fround(hi > lo ? (hi - lo) / levels : 1);
  return { scale, zp: Math.min(levels, Math.max(0, Math.round(-lo / scale))) };
}

/**
 * 4-bit blocks have 16 levels: a block's one or two outlying weights would stretch the step for
 * all the others. The range [lo, hi] (0 included) is shrunk by each factor of CLIP_FACTORS and
 * the one with the least squared rounding error over the block is kept; the outliers clip to the
 * end levels. Zeros stay exact (the shrunk range still holds 0). On the trained fixture this took
 * the int4 build's KL against fp32 from 0.041 to 0.033 (docs/run-llama-vision.md).
 */
const CLIP_FACTORS = [1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7];

function clippedBlockScale(w: Float32Array, base: number, block: number, levels: number): { scale: number; zp: number } {
  const { lo, hi } = blockRange(w, base, block);
  let best = { scale: 1, zp: 0, err: Infinity };
  for (const t of CLIP_FACTORS) {
    const scale = Math.fround(hi > lo ? ((hi - lo) * t) / levels : 1);
    const zp = Math.min(levels, Math.max(0, Math.round((-lo * t) / scale)));
    let err = 0;
    for (let j = 0; j < block; j++) {
      const x = w[base + j];
      const d = (Math.min(levels, Math.max(0, Math.round(x / scale) + zp)) - zp) * scale - x;
      err += d * d;
    }
    if (err < best.err) best = { scale, zp, err };
  }
  return best;
}

/** The block's least and greatest weight, widened to include 0. */
function blockRange(w: Float32Array, base: number, block: number): { lo: number; hi: number } {
  let lo = 0;
  let hi = 0;
  for (let j = 0; j < block; j++) {
    lo = Math.min(lo, w[base + j]);
    hi = Math.max(hi, w[base + j]);
  }
  return { lo, hi };
}
