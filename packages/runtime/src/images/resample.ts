/**
 * Pillow's BILINEAR resize for 8-bit images (libImaging/Resample.c), reproduced on raw pixels
 * so that results match PIL.Image.resize(..., resample=BILINEAR, reducing_gap=None) bit for bit.
 * libvips' bilinear (what sharp offers) differs: it does not widen the filter when downscaling.
 *
 * The algorithm: a separable triangle filter of support 1, widened by the scale factor when
 * the image shrinks (antialiasing). Per output index, weights are computed in double, normalised
 * to sum 1, then converted to 22-bit fixed point. A horizontal pass runs first (over only the
 * rows the vertical pass will read), then a vertical pass; each accumulates integers starting at
 * 0.5 in fixed point and clips the result to 0..255.
 */

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);
const BILINEAR_SUPPORT = 1;

function triangle(x: number): number {
  const ax = x < 0 ? -x : x;
  return ax < 1 ? 1 - ax : 0;
}

/** Fixed-point filter taps for one axis: for output i, taps start at bounds[2i] and number bounds[2i+1]. */
export interface AxisCoefficients {
  ksize: number;
  bounds: Int32Array;
  weights: Int32Array;
}

/** precompute_coeffs + normalize_coeffs_8bpc for a full-image box (0..inSize). */
export function axisCoefficients(inSize: number, outSize: number): AxisCoefficients {
  const scale = inSize / outSize;
  const filterScale = scale < 1 ? 1 : scale;
  const support = BILINEAR_SUPPORT * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const taps = new Float64Array(ksize);
  const ss = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero; negative values are clamped to 0 right after anyway.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = triangle((x + xmin - center + 0.5) * ss);
      taps[x] = w;
      sum += w;
    }
    for (let x = 0; x < xmax; x++) {
      const k = sum !== 0 ? taps[x] / sum : taps[x];
      // (int)(±0.5 + k * 2^22): round half away from zero by truncation.
      weights[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resizes interleaved uint8 pixels (`channels` per pixel, row-major) from inW x inH to
 * outW x outH exactly as Pillow 9.x/10.x BILINEAR does. Returns a new buffer (a copy when the
 * size is unchanged, like Image.resize).
 */
export function resizeBilinearPillow(
  src: Uint8Array,
  inW: number,
  inH: number,
  channels: number,
  outW: number,
  outH: number,
): Uint8Array {
  if (src.length !== inW * inH * channels) {
    throw new RangeError(`resizeBilinearPillow: buffer has ${src.length} bytes, expected ${inW}x${inH}x${channels}`);
  }
  if (!(outW >= 1 && outH >= 1 && Number.isInteger(outW) && Number.isInteger(outH))) {
    throw new RangeError(`resizeBilinearPillow: output size must be positive integers, got ${outW}x${outH}`);
  }
  const needHorizontal = outW !== inW;
  const needVertical = outH !== inH;
  if (!needHorizontal && !needVertical) return src.slice();

  const vert = axisCoefficients(inH, outH);
  let image = src;
  let imageW = inW;
  let imageH = inH;
  // Row offset of `image` relative to the source, so the vertical bounds can index it.
  let rowOffset = 0;

  if (needHorizontal) {
    const horiz = axisCoefficients(inW, outW);
    // Only the source rows the vertical pass reads are resampled horizontally.
    const firstRow = vert.bounds[0];
    const lastRow = vert.bounds[outH * 2 - 2] + vert.bounds[outH * 2 - 1];
    const rows = needVertical ? lastRow - firstRow : inH;
    const startRow = needVertical ? firstRow : 0;
    const out = new Uint8Array(outW * rows * channels);
    const { ksize, bounds, weights } = horiz;
    for (let y = 0; y < rows; y++) {
      const inRow = (y + startRow) * inW * channels;
      const outRow = y * outW * channels;
      if (channels === 3) {
        // The common case, unrolled over the three channels.
        for (let xx = 0; xx < outW; xx++) {
          const xcount = bounds[xx * 2 + 1];
          const k = xx * ksize;
          let a0 = HALF;
          let a1 = HALF;
          let a2 = HALF;
          let p = inRow + bounds[xx * 2] * 3;
          for (let x = 0; x < xcount; x++, p += 3) {
            const w = weights[k + x];
            a0 += src[p] * w;
            a1 += src[p + 1] * w;
            a2 += src[p + 2] * w;
          }
          const o = outRow + xx * 3;
          out[o] = clip8(a0);
          out[o + 1] = clip8(a1);
          out[o + 2] = clip8(a2);
        }
        continue;
      }
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[xx * 2];
        const xcount = bounds[xx * 2 + 1];
        const k = xx * ksize;
        for (let c = 0; c < channels; c++) {
          let acc = HALF;
          let p = inRow + xmin * channels + c;
          for (let x = 0; x < xcount; x++, p += channels) acc += src[p] * weights[k + x];
          out[outRow + xx * channels + c] = clip8(acc);
        }
      }
    }
    image = out;
    imageW = outW;
    imageH = rows;
    rowOffset = startRow;
  }

  if (!needVertical) return image;

  const out = new Uint8Array(imageW * outH * channels);
  const { ksize, bounds, weights } = vert;
  const stride = imageW * channels;
  // Accumulate whole rows (sequential memory access); integers stay below 2^31: the weights are
  // non-negative for a triangle filter and sum to about 2^22, times at most 255, plus 2^21.
  const acc = new Int32Array(stride);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2] - rowOffset;
    const ycount = bounds[yy * 2 + 1];
    const k = yy * ksize;
    if (ymin < 0 || ymin + ycount > imageH) throw new Error('resizeBilinearPillow: internal row bound error');
    acc.fill(HALF);
    for (let y = 0; y < ycount; y++) {
      const w = weights[k + y];
      const base = (ymin + y) * stride;
      for (let i = 0; i < stride; i++) acc[i] += image[base + i] * w;
    }
    const outRow = yy * stride;
    for (let i = 0; i < stride; i++) out[outRow + i] = clip8(acc[i]);
  }
  return out;
}
