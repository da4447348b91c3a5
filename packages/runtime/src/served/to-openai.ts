import type { ChatMessage, ContentPart, FinishReason, ModelRequest, PromptSegment, ToolSpec } from '../model/types.js';
import type { OpenAIChatRequest, OpenAICompletionRequest, OpenAIMessage, OpenAITool } from './openai-wire.js';
import { imageToUrl } from './images.js';
import { ServedRequestError } from './errors.js';
import { escapePromptContent, escapeSpecialTokens, escapeTextRuns } from './special-tokens.js';

export interface WireTextOptions {
  /**
   * Escape special-token look-alikes in untrusted text (user, assistant and tool contents,
   * tool-call arguments, raw-prompt content segments). Default true. System messages, tool
   * schemas and raw-prompt template segments are the application's own text and stay as written.
   */
  escapeSpecialTokens?: boolean;
}

const untrustedText = (options: WireTextOptions): ((text: string) => string) =>
  options.escapeSpecialTokens === false ? (text) => text : escapeSpecialTokens;

/**
 * The text of each text part, escaped together with its adjacent text parts: the engine's
 * template writes them one after the other, so a look-alike split across parts must not re-form.
 */
function untrustedParts(parts: ContentPart[], options: WireTextOptions): Array<string | undefined> {
  const texts = parts.map((p) => (p.type === 'text' ? p.text : undefined));
  return options.escapeSpecialTokens === false ? texts : escapeTextRuns(texts);
}

export async function toOpenAIMessages(messages: ChatMessage[], options: WireTextOptions = {}): Promise<OpenAIMessage[]> {
  const untrusted = untrustedText(options);
  const out: OpenAIMessage[] = [];
  for (const m of messages) {
    switch (m.role) {
      case 'system':
        out.push({ role: 'system', content: m.content });
        break;
      case 'user':
        if (typeof m.content === 'string') out.push({ role: 'user', content: untrusted(m.content) });
        else {
          const texts = untrustedParts(m.content, options);
          const parts = await Promise.all(
            m.content.map(async (p, i) =>
              p.type === 'text'
                ? { type: 'text' as const, text: texts[i] ?? p.text }
                : { type: 'image_url' as const, image_url: { url: await imageToUrl(p.image, p.mediaType) } },
            ),
          );
          out.push({ role: 'user', content: parts });
        }
        break;
      case 'assistant':
        out.push({
          role: 'assistant',
          content: untrusted(m.content),
          ...(m.toolCalls?.length
            ? {
                tool_calls: m.toolCalls.map((c) => ({
                  id: c.id,
                  type: 'function' as const,
                  function: { name: c.name, arguments: untrusted(JSON.stringify(c.arguments ?? {})) },
                })),
              }
            : {}),
        });
        break;
      case 'tool':
        out.push({ role: 'tool', tool_call_id: m.toolCallId, name: m.name, content: untrusted(m.content) });
        break;
    }
  }
  return out;
}

export function toOpenAITools(tools: ToolSpec[]): OpenAITool[] {
  return tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }));
}

type SamplingFields = Pick<OpenAIChatRequest, 'max_tokens' | 'temperature' | 'top_p' | 'top_k' | 'repetition_penalty' | 'seed' | 'stop'>;

function samplingFields(request: ModelRequest): SamplingFields {
  const s = request.sampling ?? {};
  const out: SamplingFields = {};
  if (s.maxTokens !== undefined) out.max_tokens = s.maxTokens;
  // Lookout's "0 or undefined = greedy": an engine's own default temperature is usually 1.
  out.temperature = s.temperature ?? 0;
  if (s.topP !== undefined) out.top_p = s.topP;
  if (s.topK !== undefined) out.top_k = s.topK;
  if (s.repetitionPenalty !== undefined) out.repetition_penalty = s.repetitionPenalty;
  if (s.seed !== undefined) out.seed = s.seed;
  if (s.stop?.length) out.stop = s.stop;
  return out;
}

export async function toChatRequest(
  model: string,
  request: ModelRequest,
  stream: boolean,
  streamUsage: boolean,
  options: WireTextOptions = {},
): Promise<OpenAIChatRequest> {
  const body: OpenAIChatRequest = { model, messages: await toOpenAIMessages(request.messages ?? [], options), ...samplingFields(request) };
  if (request.tools?.length) body.tools = toOpenAITools(request.tools);
  if (request.topLogprobs !== undefined) {
    body.logprobs = true;
    body.top_logprobs = request.topLogprobs;
  }
  // Structured output: the engine enforces it; both go over in OpenAI's shape.
  const choice = request.toolChoice;
  if (choice !== undefined && request.tools?.length)
    body.tool_choice = typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
  const format = request.responseFormat;
  if (format?.type === 'json_schema')
    body.response_format = { type: 'json_schema', json_schema: { name: format.name ?? 'response', schema: format.schema, ...(format.strict !== undefined ? { strict: format.strict } : {}) } };
  else if (format) body.response_format = { type: format.type };
  if (stream) {
    body.stream = true;
    if (streamUsage) body.stream_options = { include_usage: true };
  }
  return body;
}

/**
 * Raw prompts go to /v1/completions as one string. That endpoint takes text only, so image
 * segments are refused: send images through `messages` instead. Content segments are escaped
 * (see WireTextOptions); template segments are joined as written.
 */
export function promptToString(segments: PromptSegment[], options: WireTextOptions = {}): string {
  return (options.escapeSpecialTokens === false ? segments : escapePromptContent(segments))
    .map((s) => {
      if (s.type === 'image')
        throw new ServedRequestError(
          'a raw prompt with image segments cannot be sent to a served engine: /v1/completions takes text only; use messages with image parts',
        );
      return s.text;
    })
    .join('');
}

export interface CompletionWireOptions extends WireTextOptions {
  /**
   * The engine puts `<|begin_of_text|>` in front of a completions prompt itself (vLLM, SGLang,
   * llama-server and TGI tokenize it with the model's BOS added), so a prompt's own leading one,
   * written by a template segment, is left out: the model sees one BOS, not two. Default false.
   */
  engineAddsBos?: boolean;
}

const BOS_TEXT = '<|begin_of_text|>';

/** The segments without the leading BOS of a first template segment (see engineAddsBos). */
function withoutLeadingBos(segments: PromptSegment[]): PromptSegment[] {
  const first = segments[0];
  if (first?.type !== 'template' || !first.text.startsWith(BOS_TEXT)) return segments;
  return [{ ...first, text: first.text.slice(BOS_TEXT.length) }, ...segments.slice(1)];
}

export function toCompletionRequest(
  model: string,
  request: ModelRequest,
  stream: boolean,
  streamUsage: boolean,
  options: CompletionWireOptions = {},
): OpenAICompletionRequest {
  const segments = options.engineAddsBos ? withoutLeadingBos(request.prompt ?? []) : (request.prompt ?? []);
  const body: OpenAICompletionRequest = { model, prompt: promptToString(segments, options), ...samplingFields(request) };
  if (request.topLogprobs !== undefined) body.logprobs = request.topLogprobs;
  if (stream) {
    body.stream = true;
    if (streamUsage) body.stream_options = { include_usage: true };
  }
  return body;
}

export function fromOpenAIFinishReason(reason: string | null | undefined, sawToolCalls: boolean): FinishReason {
  if (sawToolCalls || reason === 'tool_calls' || reason === 'function_call') return 'tool-calls';
  if (reason === 'length') return 'length';
  return 'stop';
}
