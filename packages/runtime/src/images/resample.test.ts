import { describe, expect, it } from 'vitest';
import { axisCoefficients, resizeBilinearPillow } from './resample.js';

describe('resizeBilinearPillow (Pillow BILINEAR, Resample.c)', () => {
  it('upscales 2 -> 4 as Pillow does: [0,255] -> [0,64,191,255]', () => {
    // Hand-computed from Resample.c: output 1 has taps 0.75/0.25 -> 2^21 + 255*round(0.25*2^22) >> 22 = 64.
    const out = resizeBilinearPillow(new Uint8Array([0, 255]), 2, 1, 1, 4, 1);
    expect(Array.from(out)).toEqual([0, 64, 191, 255]);
  });

  it('widens the filter when downscaling (antialiasing): [0,100,200,255] -> 2 px', () => {
    // Output 0: center 1, support 2, taps over inputs 0..2 with weights .75,.75,.25 / 1.75 -> 71.43 -> 71.
    // Output 1: center 3, taps over inputs 1..3 with .25,.75,.75 / 1.75 -> (25+150+191.25)/1.75 = 209.3 -> 209.
    const out = resizeBilinearPillow(new Uint8Array([0, 100, 200, 255]), 4, 1, 1, 2, 1);
    expect(Array.from(out)).toEqual([71, 209]);
  });

  it('runs the vertical pass on columns the same way', () => {
    const out = resizeBilinearPillow(new Uint8Array([0, 255]), 1, 2, 1, 1, 4);
    expect(Array.from(out)).toEqual([0, 64, 191, 255]);
  });

  it('keeps a constant image constant at any scale', () => {
    const src = new Uint8Array(37 * 23 * 3).fill(173);
    for (const [w, h] of [[560, 373], [11, 7], [37, 100], [1, 1]]) {
      const out = resizeBilinearPillow(src, 37, 23, 3, w, h);
      expect(out.length).toBe(w * h * 3);
      expect(out.every((v) => v === 173)).toBe(true);
    }
  });

  it('returns a copy when the size does not change', () => {
    const src = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const out = resizeBilinearPillow(src, 2, 1, 3, 2, 1);
    expect(Array.from(out)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(out).not.toBe(src);
  });

  it('builds fixed-point weights that sum to about 2^22 per output', () => {
    for (const [inSize, outSize] of [[1500, 1120], [50, 560], [1000, 746], [7, 3]]) {
      const { ksize, bounds, weights } = axisCoefficients(inSize, outSize);
      for (let i = 0; i < outSize; i++) {
        let sum = 0;
        for (let k = 0; k < bounds[i * 2 + 1]; k++) sum += weights[i * ksize + k];
        expect(Math.abs(sum - (1 << 22))).toBeLessThanOrEqual(ksize);
        expect(bounds[i * 2]).toBeGreaterThanOrEqual(0);
        expect(bounds[i * 2] + bounds[i * 2 + 1]).toBeLessThanOrEqual(inSize);
      }
    }
  });

  it('rejects a buffer of the wrong size and non-positive output sizes', () => {
    expect(() => resizeBilinearPillow(new Uint8Array(5), 2, 1, 3, 4, 4)).toThrow(RangeError);
    expect(() => resizeBilinearPillow(new Uint8Array(6), 2, 1, 3, 0, 4)).toThrow(RangeError);
  });
});
