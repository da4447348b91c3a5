import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { SafetensorsError } from './errors.js';
import {
  dtypeByteSize,
  elementCount,
  f32ToBf16Bits,
  f32ToF16Bits,
  isSafetensorsDtype,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
} from './dtypes.js';

export interface TensorDeclaration {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
}

export interface SafetensorsWriterOptions {
  /** String metadata stored under __metadata__; defaults to {format: 'pt'} as transformers writes. */
  metadata?: Record<string, string>;
}

/**
 * Data is laid out like the reference writer (and so `save_pretrained`): wider dtypes first so
 * every tensor stays aligned, then by name. The header lists tensors in that same order.
 */
const LAYOUT_RANK: Record<SafetensorsDtype, number> = {
  BOOL: 0,
  U8: 1,
  I8: 2,
  F8_E5M2: 3,
  F8_E4M3: 4,
  I16: 5,
  U16: 6,
  F16: 7,
  BF16: 8,
  I32: 9,
  U32: 10,
  F32: 11,
  F64: 12,
  I64: 13,
  U64: 14,
};

interface Slot extends TensorDeclaration {
  /** Absolute file position of the tensor's first byte. */
  position: number;
  byteLength: number;
  written: number;
}

/**
 * Streaming safetensors writer: the header is fixed by the declared tensors, then each tensor's
 * data is written (whole or in consecutive pieces, tensors in any order) straight to disk. The
 * file appears under its name only after close() checked that every byte was written.
 */
export class SafetensorsWriter {
  private readonly slots: Map<string, Slot>;
  private handle: FileHandle | undefined;
  private readonly partialPath: string;

  private constructor(
    readonly path: string,
    handle: FileHandle,
    slots: Map<string, Slot>,
    /** Total file size once complete. */
    readonly fileSize: number,
    partialPath: string,
  ) {
    this.handle = handle;
    this.slots = slots;
    this.partialPath = partialPath;
  }

  static async create(path: string, tensors: readonly TensorDeclaration[], options: SafetensorsWriterOptions = {}): Promise<SafetensorsWriter> {
    const { header, slots, fileSize } = layout(path, tensors, options.metadata ?? { format: 'pt' });
    const partialPath = partialPathOf(path);
    const handle = await open(partialPath, 'wx');
    try {
      await handle.write(header, 0, header.length, 0);
      // Size the file up front so zero-length tensors and unwritten gaps are real bytes.
      await handle.truncate(fileSize);
    } catch (err) {
      await handle.close();
      await rm(partialPath, { force: true });
      throw err;
    }
    return new SafetensorsWriter(path, handle, slots, fileSize, partialPath);
  }

  /**
   * Appends data to a tensor. A Float32Array is converted to the declared float dtype (F16 and
   * BF16 rounded to nearest even); any other view is taken as raw little-endian bytes of the
   * declared dtype (e.g. Uint16Array of bf16 bits, BigInt64Array for I64, Uint8Array for BOOL).
   */
  async write(name: string, data: Float32Array | ArrayBufferView): Promise<void> {
    const slot = this.slots.get(name);
    if (!slot) {
      throw writeError(this.path, name, `was not declared; declared tensors: ${[...this.slots.keys()].slice(0, 5).join(', ')}${this.slots.size > 5 ? ', ...' : ''}`);
    }
    const handle = this.handle;
    if (!handle) throw new SafetensorsError('SAFETENSORS_CLOSED', `${this.path}: cannot write "${name}" after close()`, this.path, name);
    const bytes = encode(slot, data, this.path);
    if (slot.written + bytes.byteLength > slot.byteLength) {
      throw writeError(
        this.path,
        name,
        `would receive ${slot.written + bytes.byteLength} bytes but ${slot.dtype} x [${slot.shape.join(', ')}] holds ${slot.byteLength}`,
      );
    }
    const at = slot.position + slot.written;
    slot.written += bytes.byteLength; // reserve before awaiting so concurrent appends do not collide
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, at + done);
      done += bytesWritten;
    }
  }

  /** Checks every tensor is complete, then moves the file into place. */
  async close(): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    const incomplete = [...this.slots.values()].filter((s) => s.written !== s.byteLength);
    if (incomplete.length > 0) {
      await this.abort();
      throw writeError(
        this.path,
        incomplete[0].name,
        `is incomplete (${incomplete[0].written} of ${incomplete[0].byteLength} bytes)` +
          (incomplete.length > 1 ? ` and ${incomplete.length - 1} more tensor(s) too` : '') +
          '; nothing was written',
      );
    }
    this.handle = undefined;
    await handle.close();
    await rename(this.partialPath, this.path);
  }

  /** Discards the partial file. */
  async abort(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
    await rm(this.partialPath, { force: true });
  }
}

/** One-shot helper: declares and writes every tensor, then closes. */
export async function writeSafetensors(
  path: string,
  tensors: ReadonlyArray<TensorDeclaration & { data: Float32Array | ArrayBufferView }>,
  options?: SafetensorsWriterOptions,
): Promise<void> {
  const writer = await SafetensorsWriter.create(path, tensors, options);
  try {
    for (const t of tensors) await writer.write(t.name, t.data);
  } catch (err) {
    await writer.abort();
    throw err;
  }
  await writer.close();
}

/** A name of this writer's own: two writers of one file (two processes) never share a partial file. */
function partialPathOf(path: string): string {
  return `${path}.${process.pid}-${randomBytes(4).toString('hex')}.partial`;
}

/** Builds the padded header bytes and each tensor's slot. */
function layout(path: string, tensors: readonly TensorDeclaration[], metadata: Record<string, string>) {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (typeof t.name !== 'string' || t.name.length === 0 || t.name === '__metadata__') {
      throw writeError(path, String(t.name), 'is not a usable tensor name (non-empty, not "__metadata__")');
    }
    if (seen.has(t.name)) throw writeError(path, t.name, 'is declared twice');
    seen.add(t.name);
    if (!isSafetensorsDtype(t.dtype)) throw writeError(path, t.name, `has dtype ${JSON.stringify(t.dtype)}; accepted: ${SAFETENSORS_DTYPES.join(', ')}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw writeError(path, t.name, `has shape ${JSON.stringify(t.shape)}; expected an array of non-negative integers`);
    }
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw writeError(path, `__metadata__.${k}`, 'must be a string');
  }

  const ordered = [...tensors].sort(
    (a, b) => LAYOUT_RANK[b.dtype] - LAYOUT_RANK[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const entries: string[] = [];
  if (Object.keys(metadata).length > 0) entries.push(`"__metadata__":${JSON.stringify(metadata)}`);
  let offset = 0;
  const rel: Array<[TensorDeclaration, number, number]> = [];
  for (const t of ordered) {
    const byteLength = elementCount(t.shape) * dtypeByteSize(t.dtype);
    rel.push([t, offset, byteLength]);
    entries.push(
      `${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":${JSON.stringify(t.shape)},"data_offsets":[${offset},${offset + byteLength}]}`,
    );
    offset += byteLength;
  }
  let json = `{${entries.join(',')}}`;
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (jsonBytes % 8)) % 8); // pad so tensor data starts 8-byte aligned
  const body = Buffer.from(json, 'utf8');
  const header = Buffer.alloc(8 + body.length);
  header.writeBigUInt64LE(BigInt(body.length), 0);
  body.copy(header, 8);

  const slots = new Map<string, Slot>();
  for (const [t, start, byteLength] of rel) {
    slots.set(t.name, { name: t.name, dtype: t.dtype, shape: [...t.shape], position: header.length + start, byteLength, written: 0 });
  }
  return { header, slots, fileSize: header.length + offset };
}

function encode(slot: Slot, data: Float32Array | ArrayBufferView, path: string): Uint8Array {
  if (data instanceof Float32Array) {
    switch (slot.dtype) {
      case 'F32':
        return bytesOf(data);
      case 'F16':
        return bytesOf(f32ToF16Bits(data));
      case 'BF16':
        return bytesOf(f32ToBf16Bits(data));
      case 'F64':
        return bytesOf(Float64Array.from(data));
      default:
        throw writeError(
          path,
          slot.name,
          `is ${slot.dtype}; a Float32Array converts only to F32, F16, BF16 or F64 (pass the ${slot.dtype} values as their own typed array)`,
        );
    }
  }
  if (!ArrayBuffer.isView(data)) throw writeError(path, slot.name, 'data must be a Float32Array or another typed array / Buffer');
  return bytesOf(data);
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function writeError(path: string, tensor: string, detail: string): SafetensorsError {
  return new SafetensorsError('SAFETENSORS_WRITE_INVALID', `${path}: tensor "${tensor}" ${detail}`, path, tensor);
}
