import type { LanguageModel, ModelEvent, ModelRequest, StreamOptions, Usage } from '@lookout/runtime';
import { compileArgumentsSchema } from '@lookout/tools';

/**
 * How a request that offers tools (tool choice "auto") and also asks for JSON is answered.
 * A reply constrained to JSON cannot be a tool call, so:
 * - `'answer-pass'` (default): the model first answers freely with the tools offered; a reply
 *   with tool calls is returned as it is; a text reply that already is valid JSON for the format
 *   is kept; any other text reply is generated again, constrained to the format with no tools
 *   offered. Text is held back until the first pass has ended.
 * - `'forward'`: the request goes to the model as it is (a served engine that handles both).
 */
export type JsonWithTools = 'answer-pass' | 'forward';

/** The request asks for JSON and offers tools the model may choose not to call. */
function needsAnswerPass(request: ModelRequest): boolean {
  const format = request.responseFormat?.type;
  if (format !== 'json_object' && format !== 'json_schema') return false;
  if (!request.tools?.length) return false;
  return request.toolChoice === undefined || request.toolChoice === 'auto';
}

/** Whether `text` is already a JSON value the response format accepts. */
export function satisfiesFormat(text: string, format: ModelRequest['responseFormat']): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  if (format?.type === 'json_object') return value !== null && typeof value === 'object' && !Array.isArray(value);
  if (format?.type !== 'json_schema') return true;
  if (format.schema === true) return true;
  if (format.schema === false) return false;
  try {
    return compileArgumentsSchema('output', format.schema)(value).success;
  } catch {
    return false;
  }
}

/**
 * `model.stream(request)`, except that a request with both tools and a JSON response format is
 * answered in up to two passes (see JsonWithTools). The finish event of the answer carries the
 * usage of both passes.
 */
export async function* streamStructured(
  model: LanguageModel,
  request: ModelRequest,
  options: StreamOptions & { jsonWithTools?: JsonWithTools } = {},
): AsyncIterable<ModelEvent> {
  const { jsonWithTools = 'answer-pass', ...streamOptions } = options;
  if (jsonWithTools === 'forward' || !needsAnswerPass(request)) {
    yield* model.stream(request, streamOptions);
    return;
  }
  const { responseFormat, toolChoice: _auto, ...free } = request;
  const held: ModelEvent[] = [];
  let text = '';
  let calls = 0;
  for await (const event of model.stream(free, { signal: streamOptions.signal })) {
    held.push(event);
    if (event.type === 'text-delta') text += event.text;
    else if (event.type === 'tool-call' || event.type === 'tool-call-error') calls += 1;
  }
  if (calls > 0 || satisfiesFormat(text.trim(), responseFormat)) {
    yield* held;
    return;
  }
  const first = held.find((e): e is Extract<ModelEvent, { type: 'finish' }> => e.type === 'finish')?.usage;
  const { tools: _tools, ...answer } = request;
  for await (const event of model.stream({ ...answer, responseFormat }, { signal: streamOptions.signal })) {
    yield event.type === 'finish' && first ? { ...event, usage: addUsage(first, event.usage) } : event;
  }
}

function addUsage(a: Usage, b: Usage): Usage {
  const cached = (a.cachedInputTokens ?? 0) + (b.cachedInputTokens ?? 0);
  return { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens, ...(cached ? { cachedInputTokens: cached } : {}) };
}
