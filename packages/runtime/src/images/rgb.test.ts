import { describe, expect, it } from 'vitest';
import { cmykToRgb, compositeOverWhite, toRgb } from './rgb.js';

describe('convert_to_rgb (Pillow alpha_composite over white)', () => {
  it('keeps opaque values, turns transparent pixels white', () => {
    for (let v = 0; v < 256; v++) {
      expect(compositeOverWhite(v, 255)).toBe(v);
      expect(compositeOverWhite(v, 0)).toBe(255);
    }
  });

  it("matches Pillow's integer rounding at half alpha", () => {
    // tmp = 0*128*2^7 + 255*127*2^7 = 4145280; (+16384) div-255 shift -> 16320; >> 7 = 127.
    expect(compositeOverWhite(0, 128)).toBe(127);
    expect(compositeOverWhite(0, 127)).toBe(128);
    expect(compositeOverWhite(200, 128)).toBe(227);
  });

  it('stays within one level of the real-valued blend', () => {
    for (let a = 0; a < 256; a += 5) {
      for (let v = 0; v < 256; v += 3) {
        const exact = (v * a + 255 * (255 - a)) / 255;
        expect(Math.abs(compositeOverWhite(v, a) - exact)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('replicates gray, composites gray+alpha and RGBA, passes RGB through', () => {
    expect(Array.from(toRgb(new Uint8Array([7, 200]), 2, 1))).toEqual([7, 7, 7, 200, 200, 200]);
    expect(Array.from(toRgb(new Uint8Array([0, 128, 50, 255]), 2, 2))).toEqual([127, 127, 127, 50, 50, 50]);
    expect(Array.from(toRgb(new Uint8Array([10, 20, 30, 0, 10, 20, 30, 255]), 2, 4))).toEqual([255, 255, 255, 10, 20, 30]);
    const rgb = new Uint8Array([1, 2, 3]);
    expect(toRgb(rgb, 1, 3)).toBe(rgb);
    expect(() => toRgb(new Uint8Array(5), 1, 5)).toThrow(/accepted: 1 \(gray\)/);
  });
});

describe('cmykToRgb (Pillow cmyk2rgb)', () => {
  it('converts without colour management, rounding as Pillow does', () => {
    // (4,0,2,1): nk = 254; 254 - round(4*254/255) = 250, 254, 254 - 2 = 252.
    expect(Array.from(cmykToRgb(new Uint8Array([0, 0, 0, 0, 4, 0, 2, 1, 255, 255, 255, 255, 0, 0, 0, 255]), 4))).toEqual([
      255, 255, 255, 250, 254, 252, 0, 0, 0, 0, 0, 0,
    ]);
  });
});
