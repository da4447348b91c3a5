import { withImages } from '@lookout/tools';

/** The parts of an MCP `CallToolResult` Lookout reads. */
export interface McpCallResult {
  content?: Array<Record<string, unknown>>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export interface ConvertedResult {
  /** What `execute` returns: the structured content or the text, with images attached when kept. */
  output: unknown;
  /** The text of the result, for an error message. */
  text: string;
}

/**
 * Turns an MCP tool result into a Lookout tool output. Text (and text resources) becomes the
 * output text; `structuredContent`, when the server sent it, becomes the output value instead.
 * Images (and image resources) travel as data: URLs to the tool-result guards, with a line in
 * the text that says so; with `images: 'drop'` they are left out. Audio and binary resources
 * are named in the text, never passed on.
 */
export function convertResult(result: McpCallResult, images: 'guard' | 'drop'): ConvertedResult {
  const lines: string[] = [];
  const kept: string[] = [];
  const image = (mimeType: unknown, data: unknown) => {
    const mime = typeof mimeType === 'string' ? mimeType : 'application/octet-stream';
    if (images === 'drop' || typeof data !== 'string') {
      lines.push(`[${mime} image omitted]`);
      return;
    }
    kept.push(`data:${mime};base64,${data}`);
    lines.push(`[${mime} image ${kept.length}: checked by the guards, not shown to the model]`);
  };
  for (const part of result.content ?? []) {
    switch (part.type) {
      case 'text':
        lines.push(String(part.text ?? ''));
        break;
      case 'image':
        image(part.mimeType, part.data);
        break;
      case 'audio':
        lines.push(`[${String(part.mimeType ?? 'audio')} audio omitted]`);
        break;
      case 'resource': {
        const resource = (part.resource ?? {}) as Record<string, unknown>;
        if (typeof resource.text === 'string') lines.push(resource.text);
        else if (typeof resource.mimeType === 'string' && resource.mimeType.startsWith('image/')) image(resource.mimeType, resource.blob);
        else lines.push(`[binary resource ${String(resource.uri ?? '')} omitted]`);
        break;
      }
      case 'resource_link':
        lines.push(`[resource link: ${String(part.name ?? '')} <${String(part.uri ?? '')}>]`);
        break;
      default:
        lines.push(`[${String(part.type)} content omitted]`);
    }
  }
  const text = lines.join('\n');
  const value = result.structuredContent !== undefined ? result.structuredContent : text;
  return { output: kept.length > 0 ? withImages(value, kept) : value, text };
}
