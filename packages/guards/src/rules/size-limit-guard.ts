import { GuardConfigError } from '../errors.js';
import type { Guard, GuardSubject, Verdict } from '../types.js';
import { imageByteLength } from './image-bytes.js';

export interface SizeLimits {
  /** Longest accepted text, in UTF-16 code units (JavaScript string length). */
  maxTextLength?: number;
  /** Most images in one message. */
  maxImages?: number;
  /** Largest accepted single image, in bytes as handed over (before decoding). */
  maxImageBytes?: number;
  /** Largest accepted total of all images, in bytes. */
  maxTotalImageBytes?: number;
}

/**
 * Rejects oversized content before any model sees it. An image given by http(s) URL has no
 * known size here; it counts toward maxImages and is otherwise let through (the image intake
 * enforces its own download limit).
 */
export class SizeLimitGuard implements Guard {
  readonly name: string;
  constructor(private readonly limits: SizeLimits, name = 'size-limit') {
    this.name = name;
    for (const [key, value] of Object.entries(limits)) {
      if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
        throw new GuardConfigError(`SizeLimitGuard ${key} must be a non-negative integer; got ${value}`);
      }
    }
  }

  async check(subject: GuardSubject): Promise<Verdict> {
    const started = performance.now();
    const problems: string[] = [];
    const categories = new Set<string>();
    const { text, images } = subject.content;
    const l = this.limits;
    if (l.maxTextLength !== undefined && text.length > l.maxTextLength) {
      problems.push(`text is ${text.length} characters; at most ${l.maxTextLength} accepted`);
      categories.add('size:text');
    }
    if (l.maxImages !== undefined && images.length > l.maxImages) {
      problems.push(`${images.length} images; at most ${l.maxImages} accepted`);
      categories.add('size:image-count');
    }
    if (l.maxImageBytes !== undefined || l.maxTotalImageBytes !== undefined) {
      let total = 0;
      for (const [i, image] of images.entries()) {
        const bytes = await imageByteLength(image);
        if (bytes === undefined) continue;
        total += bytes;
        if (l.maxImageBytes !== undefined && bytes > l.maxImageBytes) {
          problems.push(`image ${i} is ${bytes} bytes; at most ${l.maxImageBytes} accepted`);
          categories.add('size:image-bytes');
        }
      }
      if (l.maxTotalImageBytes !== undefined && total > l.maxTotalImageBytes) {
        problems.push(`images total ${total} bytes; at most ${l.maxTotalImageBytes} accepted`);
        categories.add('size:image-bytes');
      }
    }
    const latencyMs = performance.now() - started;
    if (problems.length === 0) return { safe: true, categories: [], guard: this.name, latencyMs };
    return { safe: false, categories: [...categories], guard: this.name, latencyMs, reason: problems.join('; ') };
  }
}
