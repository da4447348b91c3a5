import { createHash } from 'node:crypto';
import type { ChatMessage, ImageInput } from '@lookout/runtime';
import type { GuardSubject } from '../types.js';

/**
 * SHA-256 over everything a guard's answer depends on: guard name, stage, tool, the text, the
 * images (their bytes, or their path/URL string) and the conversation. Length-prefixed fields so
 * that no two different subjects can collide by shifting text between fields.
 */
export function subjectHash(guardName: string, subject: GuardSubject): string {
  const h = createHash('sha256');
  const field = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    h.update(`${b.length}:`);
    h.update(b);
  };
  const image = (img: ImageInput) => {
    if (typeof img === 'string') field(`s:${img}`);
    else {
      h.update(`b${img.byteLength}:`);
      h.update(img);
    }
  };
  field(guardName);
  field(subject.stage);
  field(subject.tool ? JSON.stringify(subject.tool) : '');
  field(subject.content.text);
  h.update(`i${subject.content.images.length}:`);
  subject.content.images.forEach(image);
  h.update(`c${subject.conversation.length}:`);
  for (const m of subject.conversation) hashMessage(m, field, image);
  return h.digest('hex');
}

function hashMessage(m: ChatMessage, field: (s: string) => void, image: (i: ImageInput) => void): void {
  field(m.role);
  if (m.role === 'tool') {
    field(m.toolCallId);
    field(m.name);
  }
  if (m.role === 'assistant') field(JSON.stringify(m.toolCalls ?? []));
  if (typeof m.content === 'string') return field(m.content);
  field(`parts${m.content.length}`);
  for (const part of m.content) {
    if (part.type === 'text') field(part.text);
    else image(part.image);
  }
}
