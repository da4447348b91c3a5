import { open, type FileHandle } from 'node:fs/promises';
import { SafetensorsError } from './errors.js';
import { toFloat32, viewAs, type RawTypedArray } from './dtypes.js';
import { parseHeader, parseHeaderLength, type TensorInfo } from './header.js';
import type { TensorSource } from './tensor-source.js';

const DEFAULT_CHUNK = 16 * 1024 * 1024;

/**
 * One .safetensors file. Opening reads only the header; each read fetches just that tensor's
 * bytes through a file handle, so multi-GB checkpoints never sit whole in memory.
 */
export class SafetensorsFile implements TensorSource {
  readonly tensors: readonly TensorInfo[];
  private readonly byName: Map<string, TensorInfo>;
  private handle: FileHandle | undefined;

  private constructor(
    readonly path: string,
    handle: FileHandle,
    readonly fileSize: number,
    readonly headerLength: number,
    readonly metadata: Readonly<Record<string, string>>,
    tensors: TensorInfo[],
  ) {
    this.handle = handle;
    this.byName = new Map(tensors.map((t) => [t.name, t]));
    this.tensors = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  static async open(path: string): Promise<SafetensorsFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SafetensorsError(
        'SAFETENSORS_NOT_FOUND',
        `${path}: cannot open safetensors file (${code ?? (err as Error).message})`,
        path,
      );
    }
    try {
      const { size } = await handle.stat();
      const prefix = await readExactly(handle, 0, Math.min(8, size), path);
      const headerLength = parseHeaderLength(prefix, size, path);
      const json = await readExactly(handle, 8, headerLength, path);
      const header = parseHeader(json, size, path);
      return new SafetensorsFile(path, handle, size, headerLength, header.metadata, header.tensors);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Byte position where tensor data begins (what data_offsets are relative to). */
  get dataStart(): number {
    return 8 + this.headerLength;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.byName.get(name);
    if (!t) {
      throw new SafetensorsError(
        'SAFETENSORS_TENSOR_NOT_FOUND',
        `${this.path}: no tensor named "${name}" (the file has ${this.byName.size} tensors${nearby(name, this.byName.keys())})`,
        this.path,
        name,
      );
    }
    return t;
  }

  async readRaw(name: string): Promise<Buffer> {
    const t = this.info(name);
    return readExactly(this.openHandle(name), t.byteOffset, t.byteLength, this.path, name);
  }

  async readTyped(name: string): Promise<RawTypedArray> {
    const t = this.info(name);
    return viewAs(t.dtype, await this.readRaw(name));
  }

  async readTensor(name: string): Promise<Float32Array> {
    const t = this.info(name);
    return toFloat32(t.dtype, await this.readRaw(name), { file: this.path, tensor: name });
  }

  async *rawChunks(name: string, chunkBytes = DEFAULT_CHUNK): AsyncIterable<Buffer> {
    const t = this.info(name);
    if (!(chunkBytes > 0)) throw new RangeError(`chunkBytes must be positive, got ${chunkBytes}`);
    for (let done = 0; done < t.byteLength; done += chunkBytes) {
      const n = Math.min(chunkBytes, t.byteLength - done);
      yield await readExactly(this.openHandle(name), t.byteOffset + done, n, this.path, name);
    }
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }

  private openHandle(name: string): FileHandle {
    if (!this.handle) {
      throw new SafetensorsError('SAFETENSORS_CLOSED', `${this.path}: cannot read "${name}" after close()`, this.path, name);
    }
    return this.handle;
  }
}

/**
 * Reads exactly `length` bytes at `position` into a fresh, unpooled buffer (offset 0, so any
 * typed-array view over it is aligned).
 */
async function readExactly(handle: FileHandle, position: number, length: number, file: string, tensor?: string): Promise<Buffer> {
  const buf = Buffer.allocUnsafeSlow(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(buf, got, length - got, position + got);
    if (bytesRead === 0) {
      throw new SafetensorsError(
        'SAFETENSORS_TRUNCATED',
        `${file}: unexpected end of file reading ${tensor ? `tensor "${tensor}"` : 'the header'} ` +
          `(wanted ${length} bytes at ${position}, got ${got})`,
        file,
        tensor,
      );
    }
    got += bytesRead;
  }
  return buf;
}

/** A hint with up to three known names sharing the longest prefix with the missing one. */
function nearby(name: string, names: Iterable<string>): string {
  let best: string[] = [];
  let bestLen = 0;
  for (const n of names) {
    let i = 0;
    while (i < n.length && i < name.length && n[i] === name[i]) i++;
    if (i > bestLen) {
      bestLen = i;
      best = [n];
    } else if (i === bestLen && best.length < 3) best.push(n);
  }
  return bestLen >= 4 ? `; similar: ${best.slice(0, 3).join(', ')}` : '';
}
