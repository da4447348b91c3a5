import type { BaseMessage } from '@langchain/core/messages';
import { parseDataUrl, type ChatMessage, type ContentPart, type ToolCall } from '@lookout/runtime';
import { UnsupportedContentError } from './errors.js';

type Block = Record<string, unknown> & { type?: string };

/** LangChain content (string or blocks) → Lookout parts. Accepts OpenAI-style image_url blocks and LangChain's standard image blocks (v1 and v0.3 data blocks), base64 or URL. */
export function toContentParts(content: BaseMessage['content']): ContentPart[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return (content as Block[]).map((block, i) => toPart(block, i));
}

function toPart(block: Block, i: number): ContentPart {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: String(block.text ?? '') };
    case 'image_url': {
      const ref = block.image_url as string | { url: string } | undefined;
      const url = typeof ref === 'string' ? ref : ref?.url;
      if (!url) throw new UnsupportedContentError(`content block ${i}: image_url needs a url`);
      return urlPart(url);
    }
    case 'image': {
      const mediaType = (block.mimeType ?? block.mime_type) as string | undefined;
      if (typeof block.url === 'string') return urlPart(block.url);
      const data = block.data;
      if (data instanceof Uint8Array) return { type: 'image', image: data, mediaType };
      if (typeof data === 'string') {
        if (block.source_type === 'url') return urlPart(data);
        const bytes = Buffer.from(data, 'base64');
        return { type: 'image', image: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), mediaType };
      }
      throw new UnsupportedContentError(`content block ${i}: an image block needs url or base64 data (file ids are not supported)`);
    }
    default:
      throw new UnsupportedContentError(`content block ${i} has type "${block.type}"; Lookout accepts text, image_url and image blocks`);
  }
}

function urlPart(url: string): ContentPart {
  const data = parseDataUrl(url);
  if (data) return { type: 'image', image: data.bytes, mediaType: data.mediaType };
  return { type: 'image', image: url };
}

const textOf = (content: BaseMessage['content']): string =>
  typeof content === 'string'
    ? content
    : (content as Block[])
        .filter((b) => b.type === 'text')
        .map((b) => String(b.text ?? ''))
        .join('');

/** LangChain messages → Lookout chat messages (system, user with images, assistant with tool calls, tool results). */
export function toLookoutMessages(messages: BaseMessage[]): ChatMessage[] {
  const toolNames = new Map<string, string>();
  return messages.map((m, i): ChatMessage => {
    const type = m.getType();
    switch (type) {
      case 'system':
      case 'developer':
        return { role: 'system', content: textOf(m.content) };
      case 'human':
      case 'generic': {
        const parts = toContentParts(m.content);
        return parts.every((p) => p.type === 'text') ? { role: 'user', content: parts.map((p) => (p as { text: string }).text).join('') } : { role: 'user', content: parts };
      }
      case 'ai': {
        const calls = ((m as { tool_calls?: Array<{ id?: string; name: string; args: unknown }> }).tool_calls ?? []).map(
          (c, j): ToolCall => ({ id: c.id ?? `call_${i}_${j}`, name: c.name, arguments: c.args }),
        );
        for (const c of calls) toolNames.set(c.id, c.name);
        return { role: 'assistant', content: textOf(m.content), ...(calls.length ? { toolCalls: calls } : {}) };
      }
      case 'tool': {
        const t = m as BaseMessage & { tool_call_id: string; name?: string };
        const content = typeof t.content === 'string' ? t.content : textOf(t.content);
        return { role: 'tool', toolCallId: t.tool_call_id, name: t.name ?? toolNames.get(t.tool_call_id) ?? '', content };
      }
      default:
        throw new UnsupportedContentError(`message ${i} has type "${type}"; Lookout accepts system, human, ai and tool messages`);
    }
  });
}

/** The text and images of one message, as a guard subject wants them. */
export function subjectContent(message: ChatMessage): { text: string; images: Array<Uint8Array | string> } {
  if (message.role !== 'user' || typeof message.content === 'string') return { text: message.content as string, images: [] };
  return {
    text: message.content.filter((p) => p.type === 'text').map((p) => (p as { text: string }).text).join('\n'),
    images: message.content.filter((p) => p.type === 'image').map((p) => (p as { image: Uint8Array | string }).image),
  };
}
