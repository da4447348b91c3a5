/**
 * Renders ChatMessage[] into the Llama 3.2 Vision prompt format as PromptSegment[]. It follows
 * Meta's chat template character for character on every honest input (tests compare with
 * @huggingface/jinja rendering the template itself), but builds segments directly: text from
 * users, tools and documents lands in `content` segments, which the tokenizer never reads
 * special tokens from, so a typed "<|eot_id|>" cannot close a turn or forge a header.
 *
 * Why not render the template string at runtime: under @huggingface/jinja the template cannot
 * render tool prompts or string tool results at all (it iterates strings), and a flat string
 * loses the line between trusted template text and untrusted content.
 */
import type { ChatMessage, ContentPart, PromptSegment, ToolCall, ToolSpec } from '../model/types.js';
import { ChatFormatError } from './errors.js';
import {
  BOS,
  ENVIRONMENT_IPYTHON,
  EOT,
  IMAGE,
  KNOWLEDGE_CUTOFF,
  SYSTEM_TOOLS_PREAMBLE,
  USER_TOOLS_PREAMBLE,
  header,
  todayLine,
} from './llama-prompt-text.js';
import { SegmentBuilder } from './segment-builder.js';
import { formatTemplateDate } from './template-date.js';
import { templateJson } from './template-json.js';

export interface RenderChatOptions {
  /** JSON Schema tools offered to the model. An empty list means no tools. */
  tools?: ToolSpec[];
  /** "Today Date" of the system block: a Date (local time) or a string like "26 Jul 2024". Default: now. */
  date?: Date | string;
  /** End with an open assistant header so the model writes the reply. */
  addGenerationPrompt: boolean;
  /** Put tool definitions into the first user turn (template default, true) or the system turn. */
  toolsInUserMessage?: boolean;
}

const TOOL_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

type UserContent = string | ContentPart[];

function describeMessage(index: number): string {
  return `messages[${index}]`;
}

function checkMessages(messages: readonly ChatMessage[]): void {
  messages.forEach((message, index) => {
    const where = describeMessage(index);
    if (!message || typeof message !== 'object') {
      throw new ChatFormatError('CHAT_BAD_MESSAGE', `${where} must be an object with a role`);
    }
    switch (message.role) {
      case 'system':
      case 'assistant':
        if (typeof message.content !== 'string') {
          throw new ChatFormatError('CHAT_BAD_MESSAGE', `${where} (${message.role}) content must be a string`);
        }
        break;
      case 'user':
        if (typeof message.content === 'string') break;
        if (!Array.isArray(message.content)) {
          throw new ChatFormatError('CHAT_BAD_MESSAGE', `${where} (user) content must be a string or an array of text/image parts`);
        }
        message.content.forEach((part, p) => {
          const ok = (part?.type === 'text' && typeof part.text === 'string') || (part?.type === 'image' && part.image !== undefined);
          if (!ok) {
            throw new ChatFormatError('CHAT_BAD_MESSAGE', `${where}.content[${p}] must be {type:'text', text} or {type:'image', image}`);
          }
        });
        break;
      case 'tool':
        if (typeof message.content !== 'string') {
          throw new ChatFormatError('CHAT_BAD_MESSAGE', `${where} (tool) content must be a string (JSON text is rendered as JSON)`);
        }
        break;
      default:
        throw new ChatFormatError(
          'CHAT_BAD_MESSAGE',
          `${where} has role ${JSON.stringify((message as { role: unknown }).role)}; accepted roles: system, user, assistant, tool`,
        );
    }
  });
}

function checkTools(tools: readonly ToolSpec[]): void {
  tools.forEach((tool, i) => {
    if (!tool || typeof tool.name !== 'string' || !TOOL_NAME.test(tool.name)) {
      throw new ChatFormatError('CHAT_BAD_TOOL', `tools[${i}].name must match ${TOOL_NAME} (got ${JSON.stringify(tool?.name)})`);
    }
    if (typeof tool.description !== 'string' || typeof tool.parameters !== 'object' || tool.parameters === null) {
      throw new ChatFormatError('CHAT_BAD_TOOL', `tools[${i}] (${tool.name}) needs a string description and a JSON Schema object as parameters`);
    }
  });
}

/** The object the template prints for one tool: HF's {"type": "function", "function": {...}} form. */
export function toolDefinitionJson(tool: ToolSpec): string {
  return templateJson(
    { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } },
    4,
  );
}

/** One tool call as the template writes it in an assistant turn. */
export function toolCallText(call: Pick<ToolCall, 'name' | 'arguments'>): string {
  if (typeof call.name !== 'string' || !TOOL_NAME.test(call.name)) {
    throw new ChatFormatError('CHAT_BAD_TOOL_CALL', `tool call name must match ${TOOL_NAME} (got ${JSON.stringify(call.name)})`);
  }
  return `{"name": "${call.name}", "parameters": ${templateJson(call.arguments ?? {})}}`;
}

/**
 * A tool result as the template writes it in an ipython turn: the template applies `tojson` to
 * mappings and iterables. JSON object/array text is therefore written as that JSON; any other
 * string is a Python str (iterable), which the template writes as a quoted JSON string.
 */
export function toolResultText(content: string): string {
  try {
    const parsed: unknown = JSON.parse(content);
    if (parsed !== null && typeof parsed === 'object') return templateJson(parsed);
  } catch {
    // Not JSON: falls through to the string form.
  }
  return templateJson(content);
}

function writeUserContent(out: SegmentBuilder, content: UserContent, trim: boolean): void {
  if (typeof content === 'string') {
    out.content(trim ? content.trim() : content);
    return;
  }
  let parts = content;
  if (trim) {
    // `|trim` on the whole message: strip whitespace at its very start and end only.
    const texts = parts.map((p) => (p.type === 'text' ? p.text : null));
    const first = texts.findIndex((t) => t === null || t.trim() !== '');
    const last = texts.length - 1 - [...texts].reverse().findIndex((t) => t === null || t.trim() !== '');
    if (first === -1) return;
    parts = parts.slice(first, last + 1).map((p, i, all) => {
      if (p.type !== 'text') return p;
      let text = p.text;
      if (i === 0) text = text.trimStart();
      if (i === all.length - 1) text = text.trimEnd();
      return { ...p, text };
    });
  }
  for (const part of parts) {
    if (part.type === 'image') out.image(part.image);
    else out.content(part.text);
  }
}

function hasImage(message: ChatMessage): boolean {
  return message.role === 'user' && Array.isArray(message.content) && message.content.some((p) => p.type === 'image');
}

export function renderChat(messages: readonly ChatMessage[], options: RenderChatOptions): PromptSegment[] {
  if (!Array.isArray(messages)) {
    throw new ChatFormatError('CHAT_BAD_MESSAGE', 'messages must be an array of chat messages');
  }
  checkMessages(messages);
  const tools = options.tools && options.tools.length > 0 ? options.tools : undefined;
  if (tools) checkTools(tools);
  const toolsInUserMessage = options.toolsInUserMessage ?? true;
  const date = formatTemplateDate(options.date);

  const out = new SegmentBuilder().template(BOS);
  let rest = [...messages];
  let systemMessage = '';
  let userSuppliedSystem = false;
  if (rest[0]?.role === 'system') {
    systemMessage = rest[0].content.trim();
    userSuppliedSystem = true;
    rest = rest.slice(1);
  }

  // The template leaves the system block out of image prompts unless the caller wrote one.
  if (userSuppliedSystem || !rest.some(hasImage)) {
    out.template(header('system'));
    if (tools) out.template(ENVIRONMENT_IPYTHON);
    out.template(KNOWLEDGE_CUTOFF + todayLine(date));
    if (tools && !toolsInUserMessage) {
      out.template(SYSTEM_TOOLS_PREAMBLE);
      for (const tool of tools) out.content(toolDefinitionJson(tool)).template('\n\n');
    }
    out.content(systemMessage).template(EOT);
  }

  if (tools && toolsInUserMessage) {
    const first = rest[0];
    if (!first || first.role !== 'user') {
      throw new ChatFormatError(
        'CHAT_TOOLS_NEED_USER_MESSAGE',
        'with tools, the first message after the system message must be a user message (the tool list is written into it)',
      );
    }
    rest = rest.slice(1);
    out.template(header('user') + USER_TOOLS_PREAMBLE);
    for (const tool of tools) out.content(toolDefinitionJson(tool)).template('\n\n');
    writeUserContent(out, first.content, true);
    out.template(EOT);
  }

  for (const message of rest) {
    if (message.role === 'tool') {
      out.template(header('ipython')).content(toolResultText(message.content)).template(EOT);
    } else if (message.role === 'assistant' && message.toolCalls && message.toolCalls.length > 0) {
      // The template takes exactly one call; several are joined with "; ", a form the parser reads back.
      out.template(header('assistant')).content(message.toolCalls.map(toolCallText).join('; ')).template(EOT);
    } else {
      out.template(header(message.role));
      if (message.role === 'user') writeUserContent(out, message.content, false);
      else out.content(message.content);
      out.template(EOT);
    }
  }

  if (options.addGenerationPrompt) out.template(header('assistant'));
  return out.build();
}

/** The prompt as one string (images as <|image|>), for display and tests. */
export function renderChatString(messages: readonly ChatMessage[], options: RenderChatOptions): string {
  return segmentsToString(renderChat(messages, options));
}

export function segmentsToString(segments: readonly PromptSegment[]): string {
  return segments.map((s) => (s.type === 'image' ? IMAGE : s.text)).join('');
}
