import { parseDataUrl, type ChatMessage, type ContentPart, type ModelRequest, type SamplingSettings, type ToolCall } from '@lookout/runtime';
import type { ChatCompletionRequestBody, CompletionRequestBody } from './schema.js';
import { ServeError } from './errors.js';

export interface RequestConversionOptions {
  /** Pass http(s) image URLs on to the model, which fetches them. Off by default: a server that fetches URLs from requests is an SSRF risk. */
  allowImageUrls: boolean;
}

type TextParts = string | Array<{ type: 'text'; text: string } | { type: 'refusal'; refusal: string }>;
const joinText = (c: TextParts | null | undefined): string =>
  c == null ? '' : typeof c === 'string' ? c : c.map((p) => (p.type === 'refusal' ? p.refusal : p.text)).join('');

function samplingOf(body: ChatCompletionRequestBody | CompletionRequestBody): SamplingSettings {
  const s: SamplingSettings = {};
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null) s.maxTokens = maxTokens;
  if (body.temperature != null) s.temperature = body.temperature;
  if (body.top_p != null) s.topP = body.top_p;
  if (body.top_k != null && body.top_k > 0) s.topK = body.top_k;
  if (body.repetition_penalty != null) s.repetitionPenalty = body.repetition_penalty;
  if (body.seed != null) s.seed = body.seed;
  if (body.stop != null) s.stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
  return s;
}

function imagePartOf(url: string, where: string, options: RequestConversionOptions): ContentPart {
  const data = parseDataUrl(url);
  if (data) {
    if (!data.mediaType.startsWith('image/')) throw new ServeError(400, 'invalid_image', `${where}: data URL has media type "${data.mediaType}"; send image/png, image/jpeg, image/gif or image/webp`);
    return { type: 'image', image: data.bytes, mediaType: data.mediaType };
  }
  if (/^https?:\/\//i.test(url)) {
    if (!options.allowImageUrls)
      throw new ServeError(400, 'image_url_not_allowed', `${where}: this server does not fetch image URLs; send the image as a base64 data: URL (or start the server with --allow-image-urls)`);
    return { type: 'image', image: url };
  }
  throw new ServeError(400, 'invalid_image', `${where}: image_url must be a data: URL or an http(s) URL`);
}

/** OpenAI chat request → Lookout ModelRequest. */
export function chatRequestToModelRequest(body: ChatCompletionRequestBody, options: RequestConversionOptions): ModelRequest {
  const toolNames = new Map<string, string>();
  const messages: ChatMessage[] = body.messages.map((m, i): ChatMessage => {
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: joinText(m.content) };
      case 'user':
        if (typeof m.content === 'string') return { role: 'user', content: m.content };
        return {
          role: 'user',
          content: m.content.map((p, j) =>
            p.type === 'text' ? { type: 'text', text: p.text } : imagePartOf(typeof p.image_url === 'string' ? p.image_url : p.image_url.url, `messages.${i}.content.${j}`, options),
          ),
        };
      case 'assistant': {
        const toolCalls = (m.tool_calls ?? []).map((c, j): ToolCall => {
          toolNames.set(c.id, c.function.name);
          let args: unknown;
          try {
            args = c.function.arguments.trim() === '' ? {} : JSON.parse(c.function.arguments);
          } catch {
            throw new ServeError(400, 'invalid_tool_arguments', `messages.${i}.tool_calls.${j}.function.arguments must be a JSON string`);
          }
          return { id: c.id, name: c.function.name, arguments: args };
        });
        // A refusal (a content part or the `refusal` field) is what the assistant said.
        const content = joinText(m.content) || (m.refusal ?? '');
        return { role: 'assistant', content, ...(toolCalls.length ? { toolCalls } : {}) };
      }
      case 'tool':
        return { role: 'tool', toolCallId: m.tool_call_id, name: m.name ?? toolNames.get(m.tool_call_id) ?? '', content: joinText(m.content) };
    }
  });
  const request: ModelRequest = { messages, sampling: samplingOf(body) };
  // tool_choice "none": the tools are not offered at all.
  if (body.tools?.length && body.tool_choice !== 'none')
    request.tools = body.tools.map((t) => ({ name: t.function.name, description: t.function.description ?? '', parameters: t.function.parameters ?? { type: 'object', properties: {} } }));
  if (body.logprobs) request.topLogprobs = body.top_logprobs ?? 0;
  const choice = body.tool_choice;
  if (choice === 'required' || (typeof choice === 'object' && choice !== null)) {
    if (!request.tools?.length) throw new ServeError(400, 'invalid_request', `tool_choice ${JSON.stringify(choice)} needs "tools" with at least one function`, {}, 'tool_choice');
    if (typeof choice === 'object' && !request.tools.some((t) => t.name === choice.function.name))
      throw new ServeError(400, 'invalid_request', `tool_choice names "${choice.function.name}", which is not among "tools" (${request.tools.map((t) => t.name).join(', ')})`, {}, 'tool_choice');
    request.toolChoice = choice === 'required' ? 'required' : { name: choice.function.name };
  } else if (choice === 'auto' && request.tools?.length) request.toolChoice = 'auto';
  const format = body.response_format;
  if (format?.type === 'json_object') request.responseFormat = { type: 'json_object' };
  else if (format?.type === 'json_schema') {
    if (format.json_schema.schema === undefined)
      throw new ServeError(400, 'invalid_request', 'response_format.json_schema.schema is required: the JSON Schema the reply must follow', {}, 'response_format');
    request.responseFormat = {
      type: 'json_schema',
      name: format.json_schema.name,
      schema: format.json_schema.schema,
      ...(format.json_schema.strict != null ? { strict: format.json_schema.strict } : {}),
    };
  }
  return request;
}

/** OpenAI completions request → raw-prompt ModelRequest. The prompt is trusted template text: the caller formatted it. */
export function completionRequestToModelRequest(body: CompletionRequestBody): ModelRequest {
  const request: ModelRequest = { prompt: [{ type: 'template', text: body.prompt }], sampling: samplingOf(body) };
  if (body.logprobs != null) request.topLogprobs = body.logprobs;
  return request;
}
