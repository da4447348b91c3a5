import { describe, expect, it } from 'vitest';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, toFloat32 } from './dtypes.js';
import { SafetensorsError } from './errors.js';

const f32 = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0];
const bitsOf = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0];

describe('bf16', () => {
  it('widens by shifting the bits into the top half of an f32', () => {
    const out = bf16BitsToF32(new Uint16Array([0x3f80, 0xc000, 0x0000, 0x8000, 0x7f80, 0x3e00]));
    expect([...out]).toEqual([1, -2, 0, -0, Infinity, 0.125]);
  });

  it('round-trips every non-NaN bf16 pattern exactly', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = f32ToBf16Bits(bf16BitsToF32(all));
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      if (isNaN) expect(Number.isNaN(bf16BitsToF32(new Uint16Array([back[h]]))[0])).toBe(true);
      else if (back[h] !== h) throw new Error(`bf16 0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
    }
  });

  it('rounds to nearest, ties to even', () => {
    // 1 + 2^-8 is exactly between bf16 1.0 (even mantissa) and 1 + 2^-7: ties go to 1.0.
    // 1 + 3*2^-8 is between 1+2^-7 (odd) and 1+2^-6 (even): ties go up.
    const values = new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8, f32(0x3f808001), f32(0x3f807fff)]);
    expect([...f32ToBf16Bits(values)]).toEqual([0x3f80, 0x3f82, 0x3f81, 0x3f80]);
  });

  it('keeps NaN a NaN and overflows to infinity', () => {
    const [nan, big] = bf16BitsToF32(f32ToBf16Bits(new Float32Array([NaN, f32(0x7f7fffff)])));
    expect(Number.isNaN(nan)).toBe(true);
    expect(big).toBe(Infinity);
  });
});

describe('f16', () => {
  it('widens the exact value of every pattern class', () => {
    const out = f16BitsToF32(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x7c00, 0xfc00, 0x8000]));
    expect([...out]).toEqual([1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, Infinity, -Infinity, -0]);
    expect(Number.isNaN(f16BitsToF32(new Uint16Array([0x7e00]))[0])).toBe(true);
  });

  it('round-trips every non-NaN f16 pattern exactly', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = f32ToF16Bits(f16BitsToF32(all));
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNaN) expect((back[h] & 0x7c00) === 0x7c00 && (back[h] & 0x3ff) !== 0).toBe(true);
      else if (back[h] !== h) throw new Error(`f16 0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
    }
  });

  it('rounds every midpoint between neighbours to the even one, and just-off midpoints to the nearer', () => {
    const table = f16BitsToF32(new Uint16Array(0x7c00).map((_, i) => i));
    for (let h = 0; h < 0x7bff; h++) {
      const mid = (table[h] + table[h + 1]) / 2; // exact in f32: f16 has 11 significant bits
      const [atMid, above, below] = f32ToF16Bits(new Float32Array([mid, f32(bitsOf(mid) + 1), f32(bitsOf(mid) - 1)]));
      const even = h % 2 === 0 ? h : h + 1;
      if (atMid !== even || above !== h + 1 || (mid > 0 && below !== h)) {
        throw new Error(`midpoint after 0x${h.toString(16)}: got ${atMid}/${above}/${below}`);
      }
    }
  });

  it('overflows to infinity past the largest finite value and underflows to zero', () => {
    const out = f32ToF16Bits(new Float32Array([65519.99, 65520, 1e6, -1e6, 2 ** -25, 2 ** -25 * 1.001, 1e-10, -1e-10]));
    expect([...out]).toEqual([0x7bff, 0x7c00, 0x7c00, 0xfc00, 0x0000, 0x0001, 0x0000, 0x8000]);
  });
});

describe('toFloat32', () => {
  const where = { file: 'x.safetensors', tensor: 't' };
  it('converts exact integers and booleans', () => {
    expect([...toFloat32('I64', new Uint8Array(new BigInt64Array([-3n, 16777216n]).buffer), where)]).toEqual([-3, 16777216]);
    expect([...toFloat32('BOOL', new Uint8Array([0, 1, 1]), where)]).toEqual([0, 1, 1]);
    expect([...toFloat32('I32', new Uint8Array(new Int32Array([-7, 9]).buffer), where)]).toEqual([-7, 9]);
  });

  it('refuses integers f32 cannot hold exactly, naming the tensor', () => {
    const bytes = new Uint8Array(new BigInt64Array([16777217n]).buffer);
    expect(() => toFloat32('I64', bytes, where)).toThrowError(SafetensorsError);
    try {
      toFloat32('I64', bytes, where);
    } catch (err) {
      expect((err as SafetensorsError).code).toBe('SAFETENSORS_PRECISION_LOSS');
      expect((err as Error).message).toContain('"t"');
    }
  });
});
