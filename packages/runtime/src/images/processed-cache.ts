import { createHash } from 'node:crypto';
import type { ProcessedImage } from './processor.js';
import type { ImageSource } from './source.js';

/**
 * Processed images kept by the hash of their bytes, so the steps of an agent turn (and the
 * turns after it) that send the same photo again do not decode and resize it again. Bounded by
 * the bytes of pixel data it holds; the least recently used image goes first. Only images given
 * as bytes or data: URLs are kept: a file or http(s) URL may change behind the same name.
 */
export class ProcessedImageCache {
  private readonly entries = new Map<string, ProcessedImage>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes = 256 * 1024 * 1024) {}

  /** The cache key of a source, or undefined for sources that are not kept. */
  static keyOf(source: ImageSource): string | undefined {
    if (typeof source === 'string') return source.startsWith('data:') ? hash(Buffer.from(source)) : undefined;
    if (source instanceof Uint8Array) return hash(source);
    if (source instanceof ArrayBuffer) return hash(new Uint8Array(source));
    return undefined;
  }

  get(key: string): ProcessedImage | undefined {
    const found = this.entries.get(key);
    if (!found) {
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    // Most recently used last: Map keeps insertion order.
    this.entries.delete(key);
    this.entries.set(key, found);
    return found;
  }

  set(key: string, image: ProcessedImage): void {
    const size = image.pixelValues.byteLength;
    if (size > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.pixelValues.byteLength;
      this.entries.delete(key);
    }
    this.entries.set(key, image);
    this.bytes += size;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.pixelValues.byteLength;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}

const hash = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
