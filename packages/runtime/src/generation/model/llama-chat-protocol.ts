/**
 * The Llama 3.2 chat protocol from the runtime's chat format: prompts rendered as segments, and
 * replies streamed through its tool-call detector (text is released as it comes; a reply that
 * starts like a tool call is held and parsed when the reply ends).
 */
import { assignToolCallIds, renderChat, ToolCallStreamParser } from '../../chat/index.js';
import type { ChatProtocol, OutputEvent, OutputParser } from './model-parts.js';

export function llamaChatProtocol(options: { date?: Date | string } = {}): ChatProtocol {
  return {
    render: (messages, tools) => renderChat(messages, { tools, addGenerationPrompt: true, date: options.date }),
    createOutputParser: () => new LlamaOutputParser(),
  };
}

class LlamaOutputParser implements OutputParser {
  private readonly parser = new ToolCallStreamParser();

  push(delta: string): OutputEvent[] {
    const text = this.parser.push(delta);
    return text ? [{ type: 'text', text }] : [];
  }

  end(): OutputEvent[] {
    const { release, result } = this.parser.end();
    const events: OutputEvent[] = release ? [{ type: 'text', text: release }] : [];
    if (result.kind === 'tool-calls') {
      for (const call of assignToolCallIds(result.calls)) events.push({ type: 'tool-call', id: call.id, name: call.name, arguments: call.arguments });
    } else if (result.kind === 'malformed') {
      events.push({ type: 'tool-call-error', raw: result.raw, message: result.message });
    }
    return events;
  }
}
