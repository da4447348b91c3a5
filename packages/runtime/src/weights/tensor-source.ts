import type { RawTypedArray } from './dtypes.js';
import type { TensorInfo } from './header.js';

/** What a single safetensors file and a (possibly sharded) checkpoint have in common. */
export interface TensorSource {
  /** Every tensor, in name order. */
  readonly tensors: readonly TensorInfo[];
  has(name: string): boolean;
  /** Throws SAFETENSORS_TENSOR_NOT_FOUND for an unknown name. */
  info(name: string): TensorInfo;
  /** Floats widened to f32 (F16, BF16, F64); integer and BOOL tensors converted when exact. */
  readTensor(name: string): Promise<Float32Array>;
  /** The tensor in its own dtype (F16/BF16 as raw Uint16Array bits, I64 as BigInt64Array ...). */
  readTyped(name: string): Promise<RawTypedArray>;
  /** Exactly the tensor's little-endian bytes. */
  readRaw(name: string): Promise<Buffer>;
  /** The tensor's bytes in pieces of at most `chunkBytes`, for copying large tensors without holding them whole. */
  rawChunks(name: string, chunkBytes?: number): AsyncIterable<Buffer>;
  close(): Promise<void>;
}
