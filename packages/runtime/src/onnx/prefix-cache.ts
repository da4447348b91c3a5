import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import type { VisionInputs } from '../model/engine.js';

/**
 * What a finished decode session leaves behind so that the next prompt that starts with the same
 * tokens (the next step of an agent loop: the same conversation plus a tool result) only feeds
 * what is new. The tensors are onnxruntime outputs, never written to afterwards, so a cached
 * prefix and the sessions made from it can share them.
 */
export interface CachedPrefix {
  /** Tokens whose keys/values are in `past`, in order. */
  fedIds: number[];
  /** Self-attention KV cache, [1, kv_heads, fedIds.length, head_dim] per tensor. */
  past: Record<string, ort.Tensor>;
  /** The images the cross-attention K/V came from (visionKey), or 'none' for text-only prompts. */
  visionKey: string;
  /** Cross-attention K/V of those images (Mllama). */
  crossKv?: Record<string, ort.Tensor>;
  /** The prompt's dense cross-attention mask rows ([token][image][tile]); later positions repeat the last. */
  promptRows?: number[][][];
}

/** A stable key for a prompt's images: their pixels, aspect ratios and tile masks. */
export function visionKey(vision: VisionInputs | undefined): string {
  if (!vision || vision.numImages === 0) return 'none';
  const hash = createHash('sha256');
  const px = vision.pixelValues;
  hash.update(new Uint8Array(px.buffer, px.byteOffset, px.byteLength));
  hash.update(JSON.stringify([vision.numImages, vision.maxTiles, vision.tileSize, vision.aspectRatioIds, vision.aspectRatioMask]));
  return hash.digest('hex');
}

const rowAt = (rows: number[][][], position: number): number[][] => rows[Math.min(position, rows.length - 1)];
const sameRow = (a: number[][], b: number[][]): boolean => a.length === b.length && a.every((img, i) => img.length === b[i].length && img.every((v, k) => v === b[i][k]));

/**
 * How many leading positions of a cached prefix a new prompt can reuse: the longest common
 * prefix of the token ids, with the same images and the same cross-attention mask rows, and at
 * least one prompt token left to feed (its logits are the prompt's result). 0: start afresh.
 */
export function reusableLength(cached: CachedPrefix, inputIds: number[], key: string, promptRows?: number[][][]): number {
  if (cached.visionKey !== key) return 0;
  const limit = Math.min(cached.fedIds.length, inputIds.length - 1);
  let n = 0;
  while (n < limit && cached.fedIds[n] === inputIds[n]) n++;
  if (promptRows && cached.promptRows) {
    let rows = 0;
    while (rows < n && sameRow(rowAt(cached.promptRows, rows), promptRows[rows])) rows++;
    n = rows;
  }
  return n;
}

/** The first `length` positions of a KV tensor [1, heads, positions, head_dim] (a copy). */
export function truncateKv(t: ort.Tensor, length: number): ort.Tensor {
  const [batch, heads, positions, headDim] = t.dims;
  if (length === positions) return t;
  if (length > positions || batch !== 1) throw new RangeError(`cannot cut a KV tensor of ${positions} positions to ${length}`);
  const src = t.data as Float32Array | Uint16Array;
  const out = new (src.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(heads * length * headDim);
  for (let h = 0; h < heads; h++) out.set(src.subarray(h * positions * headDim, (h * positions + length) * headDim), h * length * headDim);
  return new ort.Tensor(t.type as 'float32' | 'float16', out, [1, heads, length, headDim]);
}

/** Bytes a cached prefix holds: its KV cache and its cross-attention K/V. */
export function prefixBytes(prefix: CachedPrefix): number {
  let n = 0;
  for (const t of Object.values(prefix.past)) n += (t.data as ArrayBufferView).byteLength;
  for (const t of Object.values(prefix.crossKv ?? {})) n += (t.data as ArrayBufferView).byteLength;
  return n;
}

/**
 * The prefixes an engine keeps, most recent first, within a byte budget (the most recent one is
 * kept even when it alone is larger). Several entries let a server that alternates between
 * conversations, or an agent that alternates with a guard on the same engine, keep each one's
 * cache instead of evicting it on every switch.
 */
export class PrefixStore {
  private entries: Array<{ prefix: CachedPrefix; bytes: number }> = [];

  constructor(private readonly budgetBytes: number) {}

  get size(): number {
    return this.entries.length;
  }

  get bytes(): number {
    return this.entries.reduce((n, e) => n + e.bytes, 0);
  }

  clear(): void {
    this.entries = [];
  }

  /** The entry that shares the longest reusable prefix with a prompt (see reusableLength). */
  best(inputIds: number[], key: string, promptRows?: number[][][]): { prefix: CachedPrefix; length: number } | undefined {
    let found: { prefix: CachedPrefix; length: number } | undefined;
    for (const { prefix } of this.entries) {
      const length = reusableLength(prefix, inputIds, key, promptRows);
      if (length > (found?.length ?? 0)) found = { prefix, length };
    }
    return found;
  }

  /** Adds a prefix; entries it extends (same images, tokens a prefix of its own) are dropped. */
  add(prefix: CachedPrefix): void {
    const extended = (old: CachedPrefix) => old.visionKey === prefix.visionKey && old.fedIds.length <= prefix.fedIds.length && old.fedIds.every((id, i) => id === prefix.fedIds[i]);
    this.entries = [{ prefix, bytes: prefixBytes(prefix) }, ...this.entries.filter((e) => !extended(e.prefix))];
    let total = this.bytes;
    while (this.entries.length > 1 && total > this.budgetBytes) total -= this.entries.pop()!.bytes;
  }
}
