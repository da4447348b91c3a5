import { F32_MIN } from './nn.js';

/**
 * HF `_prepare_cross_attention_mask`: the dense [T][images][tiles] 0/1 mask becomes an additive
 * [T, images*tiles*P] mask (each tile repeated over its P vision tokens) plus a per-row flag.
 * Rows that see no image are turned into all zeros (an unmasked softmax, as HF 4.45 does); the
 * flag then zeroes only the cross layer's MLP output for them.
 */
export function crossAttentionMask4d(dense: number[][][], tokensPerTile: number): { mask: Float32Array; rowMask: Float32Array; width: number } {
  const T = dense.length;
  const images = T > 0 ? dense[0].length : 0;
  const tiles = images > 0 ? dense[0][0].length : 0;
  const width = images * tiles * tokensPerTile;
  const mask = new Float32Array(T * width);
  const rowMask = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    let any = false;
    for (let i = 0; i < images; i++) for (let k = 0; k < tiles; k++) if (dense[t][i][k]) any = true;
    rowMask[t] = any ? 1 : 0;
    if (!any) continue;
    let col = t * width;
    for (let i = 0; i < images; i++) {
      for (let k = 0; k < tiles; k++) {
        const v = dense[t][i][k] ? 0 : F32_MIN;
        for (let p = 0; p < tokensPerTile; p++) mask[col++] = v;
      }
    }
  }
  return { mask, rowMask, width };
}
