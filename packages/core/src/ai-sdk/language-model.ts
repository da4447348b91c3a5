import type { ChatMessage, ContentPart, FinishReason, LanguageModel, ModelRequest, SamplingSettings, ToolSpec, Usage } from '@lookout/runtime';
import type { LanguageModelMiddleware } from 'ai';
import { streamStructured, type JsonWithTools } from './structured-reply.js';

type AiSdkModel = Parameters<NonNullable<LanguageModelMiddleware['wrapGenerate']>>[0]['model'];
type CallOptions = Parameters<AiSdkModel['doGenerate']>[0];
type GenerateResult = Awaited<ReturnType<AiSdkModel['doGenerate']>>;
type StreamResult = Awaited<ReturnType<AiSdkModel['doStream']>>;
type StreamPart = StreamResult['stream'] extends ReadableStream<infer P> ? P : never;
type Warning = GenerateResult['warnings'][number];

export interface LookoutLanguageModelOptions {
  /** Reported as the model id. Default: the model's own id. */
  modelId?: string;
  /**
   * A call with both tools and a JSON response format (`generateText` with `Output.object` and
   * tools): `'answer-pass'` (default) lets the model call tools first and constrains only the
   * answer; `'forward'` sends both to the model as they are. See docs/ai-sdk.md.
   */
  jsonWithTools?: JsonWithTools;
}

/**
 * Any Lookout `LanguageModel` (in-process `OnnxModel`, `OpenAICompatibleModel`, `ScriptedModel`)
 * as an AI SDK language model, for `generateText`, `streamText` and `wrapLanguageModel`:
 * text and images in, text and tool calls out, streamed. Tool calls come back as the AI SDK's
 * tool calls (the SDK runs the tools). `responseFormat: { type: 'json', schema }` and a forced
 * `toolChoice` (required, a named tool) become constrained decoding on a model that can
 * (`capabilities.structuredOutput`), so `generateObject` and `Output.object` get valid JSON.
 * Settings Lookout has no use for come back as warnings.
 */
export function lookoutLanguageModel(model: LanguageModel, options: LookoutLanguageModelOptions = {}): AiSdkModel {
  const doStream = async (call: CallOptions): Promise<StreamResult> => {
    const { request, warnings } = toRequest(call, model.capabilities.structuredOutput === true);
    const events = streamStructured(model, request, { signal: call.abortSignal, jsonWithTools: options.jsonWithTools });
    const iterator = events[Symbol.asyncIterator]();
    let textOpen = false;
    let started = false;
    let finished = false;
    let calls = 0;
    const stream = new ReadableStream<StreamPart>({
      async pull(controller) {
        if (!started) {
          started = true;
          controller.enqueue({ type: 'stream-start', warnings } as StreamPart);
          return;
        }
        // Text parts open a text block on their first delta.
        const writeText = (delta: string) => {
          if (!textOpen) {
            textOpen = true;
            controller.enqueue({ type: 'text-start', id: '0' } as StreamPart);
          }
          controller.enqueue({ type: 'text-delta', id: '0', delta } as StreamPart);
        };
        try {
          const { value: event, done } = await iterator.next();
          if (done) {
            if (textOpen) controller.enqueue({ type: 'text-end', id: '0' } as StreamPart);
            if (!finished) controller.enqueue(finishPart('stop', { inputTokens: 0, outputTokens: 0 }, calls));
            controller.close();
            return;
          }
          switch (event.type) {
            case 'text-delta':
              writeText(event.text);
              break;
            case 'tool-call':
              calls += 1;
              controller.enqueue({ type: 'tool-call', toolCallId: event.call.id, toolName: event.call.name, input: JSON.stringify(event.call.arguments ?? {}) } as StreamPart);
              break;
            case 'tool-call-error':
              // What the model wrote instead of a parseable call reaches the caller as text.
              writeText(event.raw);
              break;
            case 'finish':
              if (textOpen) controller.enqueue({ type: 'text-end', id: '0' } as StreamPart);
              textOpen = false;
              finished = true;
              controller.enqueue(finishPart(event.reason, event.usage, calls));
              break;
            default:
              break;
          }
        } catch (error) {
          controller.enqueue({ type: 'error', error } as StreamPart);
          controller.close();
        }
      },
      async cancel() {
        await iterator.return?.();
      },
    });
    return { stream, request: { body: request } };
  };

  return {
    specificationVersion: 'v4',
    provider: 'lookout',
    modelId: options.modelId ?? model.id,
    // Images by http(s) URL are fetched by Lookout's image intake (with its limits).
    supportedUrls: model.capabilities.images ? { 'image/*': [/^https?:\/\//] } : {},
    doStream,
    async doGenerate(call) {
      const { stream, request } = await doStream(call);
      const content: GenerateResult['content'] = [];
      let text = '';
      let finish: Extract<StreamPart, { type: 'finish' }> | undefined;
      let warnings: Warning[] = [];
      const reader = stream.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value.type === 'stream-start') warnings = value.warnings;
        else if (value.type === 'text-delta') text += value.delta;
        else if (value.type === 'tool-call') content.push(value);
        else if (value.type === 'finish') finish = value;
        else if (value.type === 'error') throw value.error;
      }
      if (text) content.unshift({ type: 'text', text });
      return { content, finishReason: finish!.finishReason, usage: finish!.usage, warnings, request } as GenerateResult;
    },
  };
}

function finishPart(reason: FinishReason, usage: Usage, calls: number): StreamPart {
  const unified = reason === 'abort' ? 'other' : reason === 'tool-calls' || (reason === 'stop' && calls > 0) ? 'tool-calls' : reason;
  const cached = usage.cachedInputTokens ?? 0;
  return {
    type: 'finish',
    finishReason: { unified, raw: reason },
    usage: {
      inputTokens: { total: usage.inputTokens, noCache: usage.inputTokens - cached, cacheRead: cached, cacheWrite: undefined },
      outputTokens: { total: usage.outputTokens, text: usage.outputTokens, reasoning: undefined },
    },
  } as StreamPart;
}

/** The AI SDK call as a Lookout model request. */
function toRequest(call: CallOptions, constrains: boolean): { request: ModelRequest; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const unsupported = (feature: string) => warnings.push({ type: 'unsupported', feature } as Warning);
  const messages: ChatMessage[] = [];
  for (const message of call.prompt) {
    if (message.role === 'system') messages.push({ role: 'system', content: message.content });
    else if (message.role === 'user') {
      const parts: ContentPart[] = [];
      for (const part of message.content) {
        if (part.type === 'text') parts.push({ type: 'text', text: part.text });
        else if (part.type === 'file' && part.mediaType.startsWith('image/')) {
          const data = part.data as { type: string; data?: Uint8Array | string; url?: URL };
          if (data.type === 'data' && data.data instanceof Uint8Array) parts.push({ type: 'image', image: data.data, mediaType: part.mediaType });
          else if (data.type === 'data' && typeof data.data === 'string') parts.push({ type: 'image', image: `data:${part.mediaType};base64,${data.data}`, mediaType: part.mediaType });
          else if (data.type === 'url' && data.url) parts.push({ type: 'image', image: data.url.href, mediaType: part.mediaType });
          else unsupported(`image given as ${data.type}`);
        } else unsupported(`${(part as { mediaType?: string }).mediaType ?? (part as { type: string }).type} content`);
      }
      messages.push({ role: 'user', content: parts.every((p) => p.type === 'text') ? parts.map((p) => (p as { text: string }).text).join('\n') : parts });
    } else if (message.role === 'assistant') {
      let text = '';
      const toolCalls: Array<{ id: string; name: string; arguments: unknown }> = [];
      for (const part of message.content) {
        if (part.type === 'text') text += part.text;
        else if (part.type === 'tool-call') toolCalls.push({ id: part.toolCallId, name: part.toolName, arguments: part.input });
      }
      messages.push({ role: 'assistant', content: text, ...(toolCalls.length ? { toolCalls } : {}) });
    } else {
      for (const part of message.content) {
        if (part.type !== 'tool-result') continue;
        const output = part.output as { type: string; value?: unknown; reason?: string };
        const content =
          output.type === 'text' || output.type === 'error-text'
            ? String(output.value)
            : output.type === 'execution-denied'
              ? `The call was denied${output.reason ? `: ${output.reason}` : '.'}`
              : output.type === 'content'
                ? (output.value as Array<{ type: string; text?: string }>).flatMap((p) => (p.type === 'text' && p.text ? [p.text] : [])).join('\n')
                : JSON.stringify(output.value);
        messages.push({ role: 'tool', toolCallId: part.toolCallId, name: part.toolName, content });
      }
    }
  }
  let tools: ToolSpec[] | undefined;
  if (call.tools?.length && call.toolChoice?.type !== 'none') {
    tools = [];
    for (const tool of call.tools) {
      if (tool.type === 'function') tools.push({ name: tool.name, description: tool.description ?? '', parameters: tool.inputSchema as Record<string, unknown> });
      else unsupported(`provider tool ${tool.name}`);
    }
  }
  // A forced call and JSON replies are constrained at decode time (runtime/constraints/).
  let toolChoice: ModelRequest['toolChoice'];
  const choice = call.toolChoice;
  if (tools?.length && (choice?.type === 'required' || choice?.type === 'tool')) {
    if (!constrains) unsupported(`toolChoice ${choice.type} (the model cannot constrain its output)`);
    else toolChoice = choice.type === 'required' ? 'required' : { name: choice.toolName };
  } else if (tools?.length && choice?.type === 'auto') toolChoice = 'auto';
  let responseFormat: ModelRequest['responseFormat'];
  const format = call.responseFormat;
  if (format?.type === 'json') {
    if (!constrains) unsupported('responseFormat json (the model cannot constrain its output)');
    else
      responseFormat =
        format.schema !== undefined
          ? { type: 'json_schema', name: format.name ?? 'output', schema: format.schema as Record<string, unknown>, strict: true }
          : { type: 'json_object' };
  }
  if (call.presencePenalty !== undefined) unsupported('presencePenalty');
  if (call.frequencyPenalty !== undefined) unsupported('frequencyPenalty');
  const sampling: SamplingSettings = {
    ...(call.maxOutputTokens !== undefined ? { maxTokens: call.maxOutputTokens } : {}),
    ...(call.temperature !== undefined ? { temperature: call.temperature } : {}),
    ...(call.topK !== undefined ? { topK: call.topK } : {}),
    ...(call.topP !== undefined ? { topP: call.topP } : {}),
    ...(call.seed !== undefined ? { seed: call.seed } : {}),
    ...(call.stopSequences?.length ? { stop: call.stopSequences } : {}),
  };
  return {
    request: { messages, ...(tools?.length ? { tools } : {}), ...(toolChoice ? { toolChoice } : {}), ...(responseFormat ? { responseFormat } : {}), sampling },
    warnings,
  };
}
