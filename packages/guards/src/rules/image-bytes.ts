import { stat } from 'node:fs/promises';
import type { ImageInput } from '@lookout/runtime';

/**
 * Byte size of an image as handed over, without decoding it: bytes as given, the decoded
 * length of a data: URL, or the file size of a path. Remote http(s) URLs are not fetched by a
 * guard, so their size is unknown (undefined).
 */
export async function imageByteLength(image: ImageInput): Promise<number | undefined> {
  if (typeof image !== 'string') return image.byteLength;
  if (image.startsWith('data:')) {
    const comma = image.indexOf(',');
    const meta = image.slice(5, comma);
    const payload = image.slice(comma + 1);
    if (meta.endsWith(';base64')) {
      const clean = payload.replace(/\s+/g, '');
      const padding = clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0;
      return Math.floor((clean.length * 3) / 4) - padding;
    }
    return Buffer.byteLength(decodeURIComponent(payload));
  }
  if (/^https?:\/\//i.test(image)) return undefined;
  const path = image.startsWith('file://') ? new URL(image) : image;
  return (await stat(path)).size;
}
