import { closeSync, openSync, readSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxError } from './errors.js';

/**
 * A minimal, read-only view of the safetensors shards of a model directory, used by the builder
 * to stream one tensor at a time. It only knows what the builder needs: names, shapes, dtypes and
 * reading a tensor widened to f32 (F32, F16, BF16) or as raw bytes.
 */
export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  file: string;
  /** Absolute byte offset of the tensor data in `file`. */
  offset: number;
  byteLength: number;
}

export class CheckpointTensors {
  private constructor(readonly tensors: Map<string, TensorInfo>) {}

  static open(dir: string): CheckpointTensors {
    const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
    // A sharded checkpoint names its shards in model.safetensors.index.json; reading every
    // *.safetensors header gives the same map and also covers single-file checkpoints.
    if (files.length === 0) {
      throw new OnnxError('ONNX_MISSING_TENSOR', `no *.safetensors files in ${dir}; a Hugging Face model directory is expected`);
    }
    const map = new Map<string, TensorInfo>();
    for (const f of files) {
      if (f === 'tensors.safetensors') continue; // reference-case inputs, not weights
      const path = join(dir, f);
      for (const t of readHeader(path)) map.set(t.name, t);
    }
    return new CheckpointTensors(map);
  }

  static openFile(path: string): CheckpointTensors {
    const map = new Map<string, TensorInfo>();
    for (const t of readHeader(path)) map.set(t.name, t);
    return new CheckpointTensors(map);
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new OnnxError('ONNX_MISSING_TENSOR', `tensor "${name}" is not in the checkpoint`);
    return t;
  }

  readRaw(name: string): Uint8Array {
    const t = this.info(name);
    const buf = new Uint8Array(t.byteLength);
    const fd = openSync(t.file, 'r');
    try {
      let done = 0;
      while (done < t.byteLength) {
        const n = readSync(fd, buf, done, Math.min(t.byteLength - done, 1 << 30), t.offset + done);
        if (n <= 0) throw new OnnxError('ONNX_BAD_TENSOR', `short read of "${name}" in ${t.file}`);
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    return buf;
  }

  /** The tensor as f32 values (F32 as is; F16 and BF16 widened exactly). */
  readF32(name: string): Float32Array {
    const t = this.info(name);
    const raw = this.readRaw(name);
    const n = t.shape.reduce((a, b) => a * b, 1);
    switch (t.dtype) {
      case 'F32':
        return new Float32Array(raw.buffer, raw.byteOffset, n);
      case 'BF16': {
        const src = new Uint16Array(raw.buffer, raw.byteOffset, n);
        const out = new Float32Array(n);
        const u = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) u[i] = src[i] << 16;
        return out;
      }
      case 'F16': {
        const src = new Uint16Array(raw.buffer, raw.byteOffset, n);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = halfToFloat(src[i]);
        return out;
      }
      default:
        throw new OnnxError('ONNX_BAD_DTYPE', `tensor "${name}" has dtype ${t.dtype}; F32, F16 and BF16 are accepted`);
    }
  }
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

function readHeader(path: string): TensorInfo[] {
  if (!existsSync(path)) throw new OnnxError('ONNX_MISSING_TENSOR', `safetensors file not found: ${path}`);
  const fd = openSync(path, 'r');
  try {
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const len = Number(lenBuf.readBigUInt64LE(0));
    if (len <= 0 || len > 100_000_000) throw new OnnxError('ONNX_BAD_TENSOR', `${path}: header length ${len} is not valid`);
    const hdr = Buffer.alloc(len);
    readSync(fd, hdr, 0, len, 8);
    const json = JSON.parse(hdr.toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const out: TensorInfo[] = [];
    for (const [name, v] of Object.entries(json)) {
      if (name === '__metadata__') continue;
      const [a, b] = v.data_offsets;
      const n = v.shape.reduce((x, y) => x * y, 1);
      const bytes = DTYPE_BYTES[v.dtype];
      if (bytes !== undefined && n * bytes !== b - a) {
        throw new OnnxError('ONNX_BAD_TENSOR', `${path}: tensor "${name}" spans ${b - a} bytes, expected ${n * bytes}`);
      }
      out.push({ name, dtype: v.dtype, shape: v.shape, file: path, offset: 8 + len + a, byteLength: b - a });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Reads a small safetensors file whole (test inputs, reference tensors). */
export function readSmallSafetensors(path: string): Map<string, { shape: number[]; data: Float32Array }> {
  const src = CheckpointTensors.openFile(path);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of src.tensors) out.set(name, { shape: t.shape, data: src.readF32(name) });
  return out;
}
