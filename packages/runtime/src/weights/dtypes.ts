import { SafetensorsError } from './errors.js';

/** Element types of the safetensors format (the names as they appear in the header). */
export type SafetensorsDtype =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'F8_E4M3'
  | 'F8_E5M2'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL';

const BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

export const SAFETENSORS_DTYPES = Object.keys(BYTES) as SafetensorsDtype[];

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(BYTES, value);
}

export function dtypeByteSize(dtype: SafetensorsDtype): number {
  return BYTES[dtype];
}

/** Number of elements of a shape; a scalar (shape []) has one element. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The typed array each dtype reads into without conversion (F16/BF16/F8 come back as their raw bits). */
export type RawTypedArray =
  | Float64Array
  | Float32Array
  | Uint16Array
  | Uint8Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Int8Array;

/**
 * Views little-endian tensor bytes as the dtype's natural typed array. The buffer must be
 * aligned to the element size (buffers allocated by this module always are).
 */
export function viewAs(dtype: SafetensorsDtype, bytes: Uint8Array): RawTypedArray {
  const { buffer, byteOffset, byteLength } = bytes;
  const n = byteLength / BYTES[dtype];
  switch (dtype) {
    case 'F64':
      return new Float64Array(buffer, byteOffset, n);
    case 'F32':
      return new Float32Array(buffer, byteOffset, n);
    case 'F16':
    case 'BF16':
    case 'U16':
      return new Uint16Array(buffer, byteOffset, n);
    case 'I64':
      return new BigInt64Array(buffer, byteOffset, n);
    case 'U64':
      return new BigUint64Array(buffer, byteOffset, n);
    case 'I32':
      return new Int32Array(buffer, byteOffset, n);
    case 'U32':
      return new Uint32Array(buffer, byteOffset, n);
    case 'I16':
      return new Int16Array(buffer, byteOffset, n);
    case 'I8':
      return new Int8Array(buffer, byteOffset, n);
    case 'U8':
    case 'BOOL':
    case 'F8_E4M3':
    case 'F8_E5M2':
      return new Uint8Array(buffer, byteOffset, n);
  }
}

// ---- half precision <-> f32 -------------------------------------------------------------

let f16Table: Float32Array | undefined;

/** f16 bits -> f32 value, for all 65536 patterns (built once; a lookup is faster than bit math). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    let v: number;
    if (exp === 0) v = frac * 2 ** -24; // zero and subnormals
    else if (exp === 31) v = frac ? NaN : Infinity;
    else v = (1 + frac / 1024) * 2 ** (exp - 15);
    table[h] = sign * v;
  }
  f16Table = table;
  return table;
}

export function f16BitsToF32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const table = halfTable();
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

/** bf16 is the top half of an f32: widening is `u32 = u16 << 16`. */
export function bf16BitsToF32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const u32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) u32[i] = bits[i] << 16;
  return out;
}

/** f32 -> bf16 bits, round to nearest even; NaN stays a quiet NaN of the same sign. */
export function f32ToBf16Bits(values: Float32Array, out = new Uint16Array(values.length)): Uint16Array {
  const u32 = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < u32.length; i++) {
    const x = u32[i];
    if ((x & 0x7fffffff) > 0x7f800000) {
      out[i] = (x >>> 16) | 0x0040;
      continue;
    }
    out[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/** f32 -> f16 bits, round to nearest even, overflow to ±Inf, gradual underflow to subnormals. */
export function f32ToF16Bits(values: Float32Array, out = new Uint16Array(values.length)): Uint16Array {
  const u32 = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < u32.length; i++) out[i] = f32BitsToF16Bits(u32[i]);
  return out;
}

function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // Inf / NaN (quiet)
  const e = exp - 127 + 15; // re-biased exponent
  if (e >= 31) return sign | 0x7c00; // too large: Inf
  if (e <= 0) {
    // Result is subnormal (or zero): shift the full significand right, then round to even.
    if (e < -10) return sign; // below half the smallest subnormal
    const full = mant | 0x800000;
    const shift = 14 - e; // 14..24
    const q = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    const rounded = rem > half || (rem === half && q & 1) ? q + 1 : q;
    return sign | rounded; // a carry into bit 10 correctly yields the smallest normal
  }
  const q = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  const rounded = rem > 0x1000 || (rem === 0x1000 && q & 1) ? q + 1 : q; // carry may reach Inf, as it should
  return sign | rounded;
}

/** Widens any numeric tensor to f32; integer values that f32 cannot hold exactly are refused. */
export function toFloat32(dtype: SafetensorsDtype, bytes: Uint8Array, where: { file: string; tensor: string }): Float32Array {
  const raw = viewAs(dtype, bytes);
  switch (dtype) {
    case 'F32':
      return raw as Float32Array;
    case 'F16':
      return f16BitsToF32(raw as Uint16Array);
    case 'BF16':
      return bf16BitsToF32(raw as Uint16Array);
    case 'F64':
      return Float32Array.from(raw as Float64Array);
    case 'I32':
    case 'U32':
    case 'I16':
    case 'U16':
    case 'I8':
    case 'U8':
    case 'BOOL': {
      const src = raw as Int32Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) {
        const v = src[i];
        if (v > 16777216 || v < -16777216) throw precisionLoss(dtype, v, where);
        out[i] = v;
      }
      return out;
    }
    case 'I64':
    case 'U64': {
      const src = raw as BigInt64Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) {
        const v = src[i];
        if (v > 16777216n || v < -16777216n) throw precisionLoss(dtype, v, where);
        out[i] = Number(v);
      }
      return out;
    }
    case 'F8_E4M3':
    case 'F8_E5M2':
      throw new SafetensorsError(
        'SAFETENSORS_DTYPE_UNSUPPORTED',
        `${where.file}: tensor "${where.tensor}" has dtype ${dtype}, which cannot be widened to f32 here; ` +
          'readTensor accepts F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8 and BOOL (use readRaw for the bytes)',
        where.file,
        where.tensor,
      );
  }
}

function precisionLoss(dtype: SafetensorsDtype, v: number | bigint, where: { file: string; tensor: string }): SafetensorsError {
  return new SafetensorsError(
    'SAFETENSORS_PRECISION_LOSS',
    `${where.file}: tensor "${where.tensor}" (${dtype}) holds ${v}, which f32 cannot represent exactly ` +
      '(|value| <= 2^24 is accepted); use readTyped for the exact integers',
    where.file,
    where.tensor,
  );
}
