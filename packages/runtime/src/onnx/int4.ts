/**
 * Symmetric 4-bit block quantisation in the layout com.microsoft MatMulNBits reads:
 * B [N, K/block, block/2] uint8 (element 2j in the low nibble, 2j+1 in the high one),
 * scales [N * K/block] f32, implicit zero point 8.
 */
export function quantizeInt4(w: Float32Array, n: number, k: number, block: number): { packed: Uint8Array; scales: Float32Array } {
  const blocks = k / block;
  const packed = new Uint8Array(n * blocks * (block / 2));
  const scales = new Float32Array(n * blocks);
  for (let row = 0; row < n; row++) {
    for (let b = 0; b < blocks; b++) {
      const base = row * k + b * block;
      let amax = 0;
      for (let j = 0; j < block; j++) amax = Math.max(amax, Math.abs(w[base + j]));
      // Map the largest magnitude to -8 (the widest side of the signed range), keeping its sign.
      let maxv = 0;
      for (let j = 0; j < block; j++) if (Math.abs(w[base + j]) === amax) { maxv = w[base + j]; break; }
      const scale = Math.fround(maxv / -8);
      scales[row * blocks + b] = scale;
      const inv = scale === 0 ? 0 : 1 / scale;
      const out = (row * blocks + b) * (block / 2);
      for (let j = 0; j < block; j += 2) {
        const q0 = Math.min(15, Math.max(0, Math.round(w[base + j] * inv) + 8));
        const q1 = Math.min(15, Math.max(0, Math.round(w[base + j + 1] * inv) + 8));
        packed[out + j / 2] = q0 | (q1 << 4);
      }
    }
  }
  return { packed, scales };
}

/** The weights MatMulNBits sees: (q - 8) * scale, [N, K]. */
export function dequantizeInt4(packed: Uint8Array, scales: Float32Array, n: number, k: number, block: number): Float32Array {
  const out = new Float32Array(n * k);
  const blocks = k / block;
  for (let row = 0; row < n; row++)
    for (let b = 0; b < blocks; b++) {
      const scale = scales[row * blocks + b];
      const base = (row * blocks + b) * (block / 2);
      for (let j = 0; j < block; j += 2) {
        const byte = packed[base + j / 2];
        out[row * k + b * block + j] = ((byte & 15) - 8) * scale;
        out[row * k + b * block + j + 1] = ((byte >> 4) - 8) * scale;
      }
    }
  return out;
}
