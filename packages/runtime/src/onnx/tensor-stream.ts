import type { TensorSource } from '../weights/index.js';
import { bf16BitsToF32, f16BitsToF32, f32ToF16Bits } from '../weights/index.js';
import { OnnxError } from './errors.js';

/** Bytes read per piece when streaming a tensor: peak builder memory is a few of these. */
export const PIECE_BYTES = 16 << 20;

/**
 * Reads a tensor in pieces of whole rows, widened to f32 (F32 / F16 / BF16 sources), so that a
 * tensor of any size goes through the builder with bounded memory. `rowElems` is the length of
 * one row (the last dimension, or 1 for vectors).
 */
export async function* f32Rows(src: TensorSource, name: string, rowElems: number): AsyncIterable<Float32Array> {
  const t = src.info(name);
  const width = t.dtype === 'F32' ? 4 : t.dtype === 'F16' || t.dtype === 'BF16' ? 2 : 0;
  if (!width) throw new OnnxError('ONNX_BAD_DTYPE', `tensor "${name}" has dtype ${t.dtype}; F32, F16 and BF16 are accepted`);
  const rowBytes = rowElems * width;
  const chunk = Math.max(1, Math.floor(PIECE_BYTES / rowBytes)) * rowBytes;
  let carry: Buffer | undefined;
  for await (const raw of src.rawChunks(name, chunk)) {
    let bytes = carry ? Buffer.concat([carry, raw]) : raw;
    const whole = bytes.byteLength - (bytes.byteLength % rowBytes);
    carry = whole < bytes.byteLength ? Buffer.from(bytes.subarray(whole)) : undefined;
    bytes = bytes.subarray(0, whole);
    if (whole > 0) yield widen(t.dtype, bytes);
  }
  if (carry) throw new OnnxError('ONNX_BAD_TENSOR', `tensor "${name}" is not a whole number of rows of ${rowElems}`);
}

function widen(dtype: string, bytes: Buffer): Float32Array {
  // Copy into a fresh, aligned buffer (pieces may start at odd offsets of a pooled Buffer).
  const aligned = new Uint8Array(bytes.byteLength);
  aligned.set(bytes);
  if (dtype === 'F32') return new Float32Array(aligned.buffer);
  const bits = new Uint16Array(aligned.buffer);
  return dtype === 'BF16' ? bf16BitsToF32(bits) : f16BitsToF32(bits);
}

/** f32 values as little-endian bytes of the target element type. */
export function encode(values: Float32Array, elem: 'float32' | 'float16'): Uint8Array {
  if (elem === 'float32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const h = f32ToF16Bits(values);
  return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
}
