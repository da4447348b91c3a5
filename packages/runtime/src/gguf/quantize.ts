import { f32ToF16Bits } from '../weights/index.js';
import { GgufError } from './errors.js';

/** The ggml tensor types this writer produces, with their ids in the GGUF tensor table. */
export const GGML_TYPES = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 } as const;
export type GgmlType = keyof typeof GGML_TYPES;

/** Elements per block and bytes per block of each type. */
const LAYOUT: Record<GgmlType, { block: number; bytes: number }> = {
  F32: { block: 1, bytes: 4 },
  F16: { block: 1, bytes: 2 },
  // f16 scale + 32 4-bit values
  Q4_0: { block: 32, bytes: 18 },
  // f16 scale + 32 int8 values
  Q8_0: { block: 32, bytes: 34 },
};

export function isGgmlType(t: string): t is GgmlType {
  return Object.prototype.hasOwnProperty.call(GGML_TYPES, t);
}

/** Bytes of a tensor of `elems` elements whose rows are `rowElems` long. */
export function ggmlByteSize(type: GgmlType, rowElems: number, elems: number): number {
  const { block, bytes } = LAYOUT[type];
  if (rowElems % block !== 0) throw new GgufError('GGUF_BAD_SHAPE', `${type} needs rows that are a multiple of ${block} elements, got ${rowElems}`);
  return (elems / block) * bytes;
}

const scratch = new Float32Array(1);
const half = (v: number): number => {
  scratch[0] = v;
  return f32ToF16Bits(scratch)[0];
};

/**
 * Encodes f32 values (whole rows) as `type`.
 * - Q4_0: per block of 32, d = m / -8 where m is the value of largest magnitude (sign kept),
 *   q = min(15, floor(x / d + 8.5)); dequantised (q - 8) d. The low nibbles of the 16 bytes hold
 *   elements 0..15, the high nibbles 16..31.
 * - Q8_0: per block of 32, d = max|x| / 127, q = round(x / d) (halves away from zero); x ≈ q d.
 */
export function encodeGgml(type: GgmlType, values: Float32Array): Uint8Array {
  if (type === 'F32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (type === 'F16') {
    const h = f32ToF16Bits(values);
    return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
  }
  if (values.length % 32 !== 0) throw new GgufError('GGUF_BAD_SHAPE', `${type} needs a multiple of 32 values, got ${values.length}`);
  const blocks = values.length / 32;
  const size = LAYOUT[type].bytes;
  const out = new Uint8Array(blocks * size);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const base = b * 32;
    const at = b * size;
    if (type === 'Q4_0') {
      let amax = 0;
      let m = 0;
      for (let j = 0; j < 32; j++) {
        const v = values[base + j];
        if (Math.abs(v) > amax) {
          amax = Math.abs(v);
          m = v;
        }
      }
      const d = Math.fround(m / -8);
      const id = d ? Math.fround(1 / d) : 0;
      view.setUint16(at, half(d), true);
      for (let j = 0; j < 16; j++) {
        const q0 = Math.min(15, Math.trunc(Math.fround(values[base + j] * id) + 8.5));
        const q1 = Math.min(15, Math.trunc(Math.fround(values[base + 16 + j] * id) + 8.5));
        out[at + 2 + j] = q0 | (q1 << 4);
      }
    } else {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[base + j]));
      const d = Math.fround(amax / 127);
      const id = d ? Math.fround(1 / d) : 0;
      view.setUint16(at, half(d), true);
      for (let j = 0; j < 32; j++) {
        const x = Math.fround(values[base + j] * id);
        view.setInt8(at + 2 + j, Math.sign(x) * Math.round(Math.abs(x)));
      }
    }
  }
  return out;
}

/** The values a reader sees in an encoded block tensor (for tests and error checks). */
export function decodeGgml(type: GgmlType, bytes: Uint8Array, elems: number): Float32Array {
  const out = new Float32Array(elems);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (type === 'F32') return new Float32Array(bytes.slice().buffer, 0, elems);
  if (type === 'F16') {
    for (let i = 0; i < elems; i++) out[i] = f16(view.getUint16(i * 2, true));
    return out;
  }
  const size = LAYOUT[type].bytes;
  for (let b = 0; b < elems / 32; b++) {
    const at = b * size;
    const d = f16(view.getUint16(at, true));
    for (let j = 0; j < (type === 'Q4_0' ? 16 : 32); j++) {
      if (type === 'Q4_0') {
        const byte = bytes[at + 2 + j];
        out[b * 32 + j] = ((byte & 15) - 8) * d;
        out[b * 32 + 16 + j] = ((byte >> 4) - 8) * d;
      } else out[b * 32 + j] = view.getInt8(at + 2 + j) * d;
    }
  }
  return out;
}

function f16(bits: number): number {
  const e = (bits >> 10) & 31;
  const m = bits & 1023;
  const s = bits & 0x8000 ? -1 : 1;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
