import type { ChatMessage, ContentPart } from '@lookout/runtime';

/**
 * Messages as plain JSON: image bytes become data: URLs (an ImageInput form every backend
 * accepts), so sessions and paused run states round-trip through JSON.stringify unchanged.
 */
export function toStorableMessages(messages: ChatMessage[]): ChatMessage[] {
  return messages.map((m) => {
    if (m.role !== 'user' || typeof m.content === 'string') return m;
    return { ...m, content: m.content.map(toStorablePart) };
  });
}

function toStorablePart(part: ContentPart): ContentPart {
  if (part.type !== 'image' || typeof part.image === 'string') return part;
  const mediaType = part.mediaType ?? 'application/octet-stream';
  return { ...part, image: `data:${mediaType};base64,${Buffer.from(part.image).toString('base64')}` };
}
