import { readFile } from 'node:fs/promises';
import type { ImageInput } from '../model/types.js';
import { ServedRequestError } from './errors.js';

/** Sniffs the common image containers from their magic bytes. */
export function sniffImageType(bytes: Uint8Array): string | undefined {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return 'image/gif';
  if (b.length >= 12 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50)
    return 'image/webp';
  return undefined;
}

export function bytesToDataUrl(bytes: Uint8Array, mediaType?: string): string {
  const type = mediaType ?? sniffImageType(bytes);
  if (!type) throw new ServedRequestError('image bytes are not PNG, JPEG, GIF or WebP; pass mediaType to send them anyway');
  return `data:${type};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}

/**
 * What goes into an OpenAI `image_url.url`: http(s) and data: URLs pass through unchanged (the
 * engine fetches them), bytes and file paths are inlined as base64 data URLs.
 */
export async function imageToUrl(image: ImageInput, mediaType?: string): Promise<string> {
  if (typeof image !== 'string') return bytesToDataUrl(image, mediaType);
  if (/^(https?:|data:)/i.test(image)) return image;
  const filePath = image.startsWith('file://') ? new URL(image) : image;
  let bytes: Buffer;
  try {
    bytes = await readFile(filePath);
  } catch (err) {
    throw new ServedRequestError(
      `image "${image}" is not an http(s) URL, a data: URL or a readable file: ${(err as Error).message}`,
    );
  }
  return bytesToDataUrl(bytes, mediaType);
}

/** Decodes a base64 data: URL into bytes and its media type; undefined when `url` is not one. */
export function parseDataUrl(url: string): { bytes: Uint8Array; mediaType: string } | undefined {
  const m = /^data:([^;,]*)((?:;[^;,]*)*?)(;base64)?,(.*)$/is.exec(url);
  if (!m) return undefined;
  const mediaType = m[1] || 'text/plain';
  const payload = m[4];
  const bytes = m[3] ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload), 'utf8');
  return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), mediaType };
}
