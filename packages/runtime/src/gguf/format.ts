import { open, rename, rm } from 'node:fs/promises';
import { GgufError } from './errors.js';
import { GGML_TYPES, ggmlByteSize, type GgmlType } from './quantize.js';

/**
 * The GGUF container, version 3, little-endian: magic "GGUF", version, tensor count, metadata
 * count; the metadata key/value pairs; one info record per tensor (name, dims with the fastest
 * varying first, type, offset into the data section); padding to the alignment; the tensor data,
 * each tensor starting at a multiple of the alignment.
 */
export const GGUF_VERSION = 3;
export const GGUF_ALIGNMENT = 32;

/** Metadata value types (the ones this writer uses). */
const V = { U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9 } as const;
type V = (typeof V)[keyof typeof V];

/** Little-endian bytes appended piece by piece. */
class Bytes {
  private parts: Uint8Array[] = [];
  private cur = new DataView(new ArrayBuffer(1 << 16));
  private at = 0;
  length = 0;

  private room(n: number): void {
    if (this.at + n <= this.cur.byteLength) return;
    this.flush();
    if (n > this.cur.byteLength) this.cur = new DataView(new ArrayBuffer(n));
  }
  private flush(): void {
    if (this.at) this.parts.push(new Uint8Array(this.cur.buffer.slice(0, this.at)));
    this.cur = new DataView(new ArrayBuffer(this.cur.byteLength));
    this.at = 0;
  }
  u32(v: number): void {
    this.room(4);
    this.cur.setUint32(this.at, v, true);
    this.at += 4;
    this.length += 4;
  }
  i32(v: number): void {
    this.room(4);
    this.cur.setInt32(this.at, v, true);
    this.at += 4;
    this.length += 4;
  }
  f32(v: number): void {
    this.room(4);
    this.cur.setFloat32(this.at, v, true);
    this.at += 4;
    this.length += 4;
  }
  u64(v: number): void {
    this.room(8);
    this.cur.setBigUint64(this.at, BigInt(v), true);
    this.at += 8;
    this.length += 8;
  }
  u8(v: number): void {
    this.room(1);
    this.cur.setUint8(this.at, v);
    this.at += 1;
    this.length += 1;
  }
  raw(b: Uint8Array): void {
    this.room(b.length);
    new Uint8Array(this.cur.buffer, this.at, b.length).set(b);
    this.at += b.length;
    this.length += b.length;
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.raw(b);
  }
  done(): Uint8Array {
    this.flush();
    return Buffer.concat(this.parts);
  }
}

/** Metadata key/value pairs, in the order they are added. */
export class GgufMetadata {
  private readonly body = new Bytes();
  private readonly keys = new Set<string>();

  get count(): number {
    return this.keys.size;
  }

  private key(k: string, type: V): Bytes {
    if (this.keys.has(k)) throw new GgufError('GGUF_BAD_METADATA', `metadata key "${k}" was set twice`);
    this.keys.add(k);
    this.body.str(k);
    this.body.u32(type);
    return this.body;
  }
  private uint(k: string, v: number): number {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new GgufError('GGUF_BAD_METADATA', `metadata "${k}" must be a uint32, got ${v}`);
    return v;
  }
  u32(k: string, v: number): this {
    this.key(k, V.U32).u32(this.uint(k, v));
    return this;
  }
  f32(k: string, v: number): this {
    this.key(k, V.F32).f32(v);
    return this;
  }
  bool(k: string, v: boolean): this {
    this.key(k, V.BOOL).u8(v ? 1 : 0);
    return this;
  }
  str(k: string, v: string): this {
    this.key(k, V.STRING).str(v);
    return this;
  }
  strings(k: string, vs: readonly string[]): this {
    const b = this.key(k, V.ARRAY);
    b.u32(V.STRING);
    b.u64(vs.length);
    for (const v of vs) b.str(v);
    return this;
  }
  i32s(k: string, vs: ArrayLike<number>): this {
    const b = this.key(k, V.ARRAY);
    b.u32(V.I32);
    b.u64(vs.length);
    for (let i = 0; i < vs.length; i++) b.i32(vs[i]);
    return this;
  }
  f32s(k: string, vs: ArrayLike<number>): this {
    const b = this.key(k, V.ARRAY);
    b.u32(V.F32);
    b.u64(vs.length);
    for (let i = 0; i < vs.length; i++) b.f32(vs[i]);
    return this;
  }
  bytes(): Uint8Array {
    return this.body.done();
  }
}

export interface GgufTensor {
  name: string;
  /** ggml order: the row length (fastest varying) first. An HF Linear [out, in] is [in, out]. */
  dims: number[];
  type: GgmlType;
  /** The tensor's encoded bytes in row order, in pieces; their total must be the type's size. */
  data: () => AsyncIterable<Uint8Array>;
}

const pad = (n: number) => (GGUF_ALIGNMENT - (n % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;

/**
 * Writes a GGUF file: header and tensor table first (sizes are known from shapes and types),
 * then each tensor's data as it is produced, so no tensor has to be held whole. The file is
 * written under a temporary name and renamed into place when complete.
 */
export async function writeGguf(path: string, metadata: GgufMetadata, tensors: readonly GgufTensor[]): Promise<{ bytes: number }> {
  const head = new Bytes();
  head.raw(Buffer.from('GGUF', 'latin1'));
  head.u32(GGUF_VERSION);
  head.u64(tensors.length);
  head.u64(metadata.count);
  head.raw(metadata.bytes());
  const sizes: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    const elems = t.dims.reduce((a, b) => a * b, 1);
    const size = ggmlByteSize(t.type, t.dims[0], elems);
    head.str(t.name);
    head.u32(t.dims.length);
    for (const d of t.dims) head.u64(d);
    head.u32(GGML_TYPES[t.type]);
    head.u64(offset);
    sizes.push(size);
    offset += size + pad(size);
  }
  const header = head.done();
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  let written = 0;
  const put = async (b: Uint8Array) => {
    let done = 0;
    while (done < b.length) done += (await fh.write(b, done, b.length - done)).bytesWritten;
    written += b.length;
  };
  try {
    await put(header);
    await put(new Uint8Array(pad(header.length)));
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i];
      let got = 0;
      for await (const piece of t.data()) {
        got += piece.length;
        await put(piece);
      }
      if (got !== sizes[i]) throw new GgufError('GGUF_BAD_SHAPE', `tensor "${t.name}" produced ${got} bytes, its shape and type need ${sizes[i]}`);
      await put(new Uint8Array(pad(sizes[i])));
    }
    await fh.close();
    await rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  return { bytes: written };
}
