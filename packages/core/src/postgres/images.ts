import { createHash } from 'node:crypto';
import type { ChatMessage, ContentPart } from '@lookout/runtime';

/** How a stored message refers to an image kept in lookout_images. */
export const IMAGE_REF = 'lookout-image:sha256:';

export interface ImageRow {
  sha256: string;
  mediaType: string;
  bytes: Buffer;
}

const DATA_URL = /^data:([^;,]*)(?:;[^;,]*)*;base64,/;

/**
 * Replaces every base64 data: URL image in the messages with a reference to its sha256 and
 * returns the images to store once each. Other images (http URLs, paths) stay as they are.
 */
export function extractImages(messages: ChatMessage[]): { messages: ChatMessage[]; images: ImageRow[] } {
  const images = new Map<string, ImageRow>();
  const out = messages.map((m) => {
    if (m.role !== 'user' || typeof m.content === 'string') return m;
    return {
      ...m,
      content: m.content.map((part): ContentPart => {
        if (part.type !== 'image' || typeof part.image !== 'string') return part;
        const match = DATA_URL.exec(part.image);
        if (!match) return part;
        const bytes = Buffer.from(part.image.slice(match[0].length), 'base64');
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        images.set(sha256, { sha256, mediaType: match[1] || part.mediaType || 'application/octet-stream', bytes });
        return { ...part, image: `${IMAGE_REF}${sha256}` };
      }),
    };
  });
  return { messages: out, images: [...images.values()] };
}

/** The sha256 of every image reference in the messages. */
export function imageRefs(messages: ChatMessage[]): string[] {
  const refs = new Set<string>();
  for (const m of messages) {
    if (m.role !== 'user' || typeof m.content === 'string') continue;
    for (const part of m.content) {
      if (part.type === 'image' && typeof part.image === 'string' && part.image.startsWith(IMAGE_REF)) refs.add(part.image.slice(IMAGE_REF.length));
    }
  }
  return [...refs];
}

/** Puts the images back as data: URLs (the form every store returns). */
export function restoreImages(messages: ChatMessage[], images: Map<string, ImageRow>): ChatMessage[] {
  return messages.map((m) => {
    if (m.role !== 'user' || typeof m.content === 'string') return m;
    return {
      ...m,
      content: m.content.map((part): ContentPart => {
        if (part.type !== 'image' || typeof part.image !== 'string' || !part.image.startsWith(IMAGE_REF)) return part;
        const row = images.get(part.image.slice(IMAGE_REF.length));
        if (!row) return part;
        return { ...part, image: `data:${row.mediaType};base64,${row.bytes.toString('base64')}` };
      }),
    };
  });
}
