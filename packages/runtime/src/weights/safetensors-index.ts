import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { SafetensorsError } from './errors.js';
import type { RawTypedArray } from './dtypes.js';
import type { TensorInfo } from './header.js';
import { SafetensorsFile } from './safetensors-file.js';
import type { TensorSource } from './tensor-source.js';

export const SINGLE_FILE_NAME = 'model.safetensors';
export const INDEX_FILE_NAME = 'model.safetensors.index.json';

/**
 * A model directory's weights as one tensor namespace: either a single model.safetensors or
 * shards listed by model.safetensors.index.json (`weight_map`: tensor name -> shard file).
 */
export class SafetensorsIndex implements TensorSource {
  readonly tensors: readonly TensorInfo[];
  private readonly owner: Map<string, SafetensorsFile>;

  private constructor(
    readonly dir: string,
    /** The open shard files (one for a single-file checkpoint). */
    readonly files: readonly SafetensorsFile[],
    /** `metadata` of the index file (e.g. total_size), empty for a single file. */
    readonly metadata: Readonly<Record<string, unknown>>,
    owner: Map<string, SafetensorsFile>,
  ) {
    this.owner = owner;
    this.tensors = [...owner.entries()]
      .map(([name, f]) => f.info(name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** `dir` may also be a path to a .safetensors file or to the index JSON itself. */
  static async open(dir: string): Promise<SafetensorsIndex> {
    const target = await classify(dir);
    if (target.kind === 'file') {
      const file = await SafetensorsFile.open(target.path);
      return new SafetensorsIndex(path.dirname(target.path), [file], {}, new Map(file.tensors.map((t) => [t.name, file])));
    }
    return SafetensorsIndex.openSharded(target.path);
  }

  has(name: string): boolean {
    return this.owner.has(name);
  }

  info(name: string): TensorInfo {
    return this.fileOf(name).info(name);
  }

  async readTensor(name: string): Promise<Float32Array> {
    return this.fileOf(name).readTensor(name);
  }

  async readTyped(name: string): Promise<RawTypedArray> {
    return this.fileOf(name).readTyped(name);
  }

  async readRaw(name: string): Promise<Buffer> {
    return this.fileOf(name).readRaw(name);
  }

  rawChunks(name: string, chunkBytes?: number): AsyncIterable<Buffer> {
    return this.fileOf(name).rawChunks(name, chunkBytes);
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }

  private static async openSharded(indexPath: string): Promise<SafetensorsIndex> {
    const dir = path.dirname(indexPath);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(indexPath, 'utf8'));
    } catch (err) {
      throw indexError(indexPath, undefined, `is not readable JSON (${(err as Error).message})`);
    }
    const weightMap = (parsed as { weight_map?: unknown } | null)?.weight_map;
    if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
      throw indexError(indexPath, 'weight_map', 'must be an object mapping tensor names to shard file names');
    }
    const shardNames = new Set<string>();
    for (const [name, shard] of Object.entries(weightMap)) {
      if (typeof shard !== 'string' || shard.length === 0 || path.isAbsolute(shard) || shard.split(/[\\/]/).includes('..')) {
        throw indexError(indexPath, `weight_map["${name}"]`, `must be a shard file name inside ${dir}, got ${JSON.stringify(shard)}`);
      }
      shardNames.add(shard);
    }

    const files = new Map<string, SafetensorsFile>();
    try {
      for (const shard of [...shardNames].sort()) files.set(shard, await SafetensorsFile.open(path.join(dir, shard)));
      const owner = new Map<string, SafetensorsFile>();
      for (const [name, shard] of Object.entries(weightMap as Record<string, string>)) {
        const file = files.get(shard)!;
        if (!file.has(name)) {
          throw indexError(indexPath, `weight_map["${name}"]`, `points to ${shard}, which has no tensor of that name`);
        }
        owner.set(name, file);
      }
      const metadata = (parsed as { metadata?: unknown }).metadata;
      const meta = typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {};
      return new SafetensorsIndex(dir, [...files.values()], meta, owner);
    } catch (err) {
      await Promise.all([...files.values()].map((f) => f.close()));
      throw err;
    }
  }

  private fileOf(name: string): SafetensorsFile {
    const f = this.owner.get(name);
    if (!f) {
      throw new SafetensorsError(
        'SAFETENSORS_TENSOR_NOT_FOUND',
        `${this.dir}: no tensor named "${name}" in the checkpoint (${this.owner.size} tensors in ${this.files.length} file(s))`,
        this.dir,
        name,
      );
    }
    return f;
  }
}

async function classify(p: string): Promise<{ kind: 'file' | 'index'; path: string }> {
  const st = await stat(p).catch(() => undefined);
  if (!st) {
    throw new SafetensorsError('SAFETENSORS_NOT_FOUND', `${p}: no such model directory or safetensors file`, p);
  }
  if (st.isFile()) return { kind: p.endsWith('.json') ? 'index' : 'file', path: p };
  const index = path.join(p, INDEX_FILE_NAME);
  if (await isFile(index)) return { kind: 'index', path: index };
  const single = path.join(p, SINGLE_FILE_NAME);
  if (await isFile(single)) return { kind: 'file', path: single };
  throw new SafetensorsError(
    'SAFETENSORS_NOT_FOUND',
    `${p}: found neither ${INDEX_FILE_NAME} (sharded) nor ${SINGLE_FILE_NAME} (single file)`,
    p,
  );
}

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() ?? false;
}

function indexError(file: string, field: string | undefined, detail: string): SafetensorsError {
  return new SafetensorsError('SAFETENSORS_INDEX_INVALID', `${file}${field ? `: ${field}` : ''} ${detail}`, file, field);
}
