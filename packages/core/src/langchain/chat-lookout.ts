import { BaseChatModel, type BaseChatModelCallOptions, type BaseChatModelParams, type BindToolsInput } from '@langchain/core/language_models/chat_models';
import type { ModelProfile } from '@langchain/core/language_models/profile';
import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import { AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs';
import { RunnableLambda, type Runnable } from '@langchain/core/runnables';
import { convertToOpenAITool } from '@langchain/core/utils/function_calling';
import type { FinishReason, LanguageModel, ModelEvent, ModelRequest, SamplingSettings, TokenLogprob, ToolSpec, Usage } from '@lookout/runtime';
import { toLookoutMessages } from './messages.js';
import { StructuredOutputError } from './errors.js';

export interface ChatLookoutCallOptions extends BaseChatModelCallOptions {
  /** Tools for this call, as bindTools puts them: Lookout ToolSpecs. */
  tools?: ToolSpec[];
  /** Per-call sampling on top of the model's defaults. */
  sampling?: SamplingSettings;
  /** Ask for per-token log-probabilities (in each chunk's generationInfo.logprobs). */
  topLogprobs?: number;
}

export interface ChatLookoutFields extends BaseChatModelParams {
  /** Any Lookout LanguageModel: OnnxModel (in-process), OpenAICompatibleModel (served), a test double. */
  model: LanguageModel;
  sampling?: SamplingSettings;
  /** Largest prompt the model takes, for the model profile. Llama 3.2 Vision: 131072. */
  maxInputTokens?: number;
}

const finishReasons: Record<FinishReason, string> = { stop: 'stop', length: 'length', 'tool-calls': 'tool_calls', abort: 'abort', error: 'error' };

/**
 * A LangChain chat model over any Lookout LanguageModel: streaming, tools (Llama tool calling
 * via ToolSpec), images (image_url and standard image blocks), structured output, AbortSignal
 * and usage metadata.
 */
export class ChatLookout extends BaseChatModel<ChatLookoutCallOptions, AIMessageChunk> {
  readonly model: LanguageModel;
  readonly sampling?: SamplingSettings;
  private readonly maxInputTokens?: number;

  static lc_name(): string {
    return 'ChatLookout';
  }

  constructor(fields: ChatLookoutFields) {
    super(fields);
    this.model = fields.model;
    this.sampling = fields.sampling;
    this.maxInputTokens = fields.maxInputTokens;
  }

  _llmType(): string {
    return 'lookout';
  }

  /** What LangChain (and createAgent) may rely on: images in, tools, structured output through tools. */
  get profile(): ModelProfile {
    const caps = this.model.capabilities;
    return {
      imageInputs: caps.images,
      imageUrlInputs: caps.images,
      toolCalling: caps.tools,
      // Llama's tool calling has no "must call this tool" switch.
      toolChoice: false,
      structuredOutput: caps.tools,
      ...(this.maxInputTokens ? { maxInputTokens: this.maxInputTokens } : {}),
    };
  }

  /** Accepts LangChain tools, OpenAI-format tools and Lookout tools (anything with a `spec`). */
  bindTools(tools: BindToolsInput[], kwargs?: Partial<ChatLookoutCallOptions>): Runnable<BaseLanguageModelInput, AIMessageChunk, ChatLookoutCallOptions> {
    return this.withConfig({ tools: tools.map(toToolSpec), ...kwargs } as Partial<ChatLookoutCallOptions>);
  }

  /**
   * Structured output through a tool call (Llama has no JSON mode), and, unlike LangChain's
   * default, the arguments are validated against a zod schema before they are returned.
   */
  // The base class declares several overloads; one implementation serves them all.
  withStructuredOutput(schema: any, config?: any): any {
    const base = super.withStructuredOutput(schema, config) as Runnable;
    const zod = schema as { safeParse?: (v: unknown) => { success: boolean; data?: unknown; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } } };
    if (config?.includeRaw || typeof zod.safeParse !== 'function') return base;
    return base.pipe(
      RunnableLambda.from((value: unknown) => {
        const result = zod.safeParse!(value);
        if (result.success) return result.data;
        const issues = result.error!.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
        throw new StructuredOutputError(`the model's structured output does not match the schema: ${issues}`, value);
      }),
    );
  }

  invocationParams(options?: this['ParsedCallOptions']): Record<string, unknown> {
    return { model: this.model.id, ...this.sampling, ...options?.sampling };
  }

  async *_streamResponseChunks(messages: BaseMessage[], options: this['ParsedCallOptions'], runManager?: CallbackManagerForLLMRun): AsyncGenerator<ChatGenerationChunk> {
    const request: ModelRequest = { messages: toLookoutMessages(messages) };
    const sampling: SamplingSettings = { ...this.sampling, ...options.sampling };
    if (options.stop?.length) sampling.stop = [...(sampling.stop ?? []), ...options.stop];
    if (Object.keys(sampling).length) request.sampling = sampling;
    if (options.tools?.length) request.tools = options.tools;
    if (options.topLogprobs !== undefined) request.topLogprobs = options.topLogprobs;

    let toolIndex = 0;
    const events = this.model.stream(request, { signal: options.signal })[Symbol.asyncIterator]();
    // LangChain stops reading as soon as the signal fires and may never resume this generator:
    // close the model's stream from here so it frees its resources (engine slot, HTTP request).
    const onAbort = () => void events.return?.().catch(() => undefined);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const next = await events.next();
        if (next.done) break;
        yield* this.toChunks(next.value, runManager, () => toolIndex++);
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      await events.return?.().catch(() => undefined);
    }
  }

  private async *toChunks(event: ModelEvent, runManager: CallbackManagerForLLMRun | undefined, nextToolIndex: () => number): AsyncGenerator<ChatGenerationChunk> {
    switch (event.type) {
      case 'text-delta': {
        const chunk = new ChatGenerationChunk({ text: event.text, message: new AIMessageChunk({ content: event.text }) });
        yield chunk;
        await runManager?.handleLLMNewToken(event.text, undefined, undefined, undefined, undefined, { chunk });
        break;
      }
      case 'tool-call':
        yield new ChatGenerationChunk({
          text: '',
          message: new AIMessageChunk({
            content: '',
            tool_call_chunks: [{ type: 'tool_call_chunk', id: event.call.id, name: event.call.name, args: JSON.stringify(event.call.arguments ?? {}), index: nextToolIndex() }],
          }),
        });
        break;
      case 'tool-call-error':
        // LangChain reports unparseable calls as invalid_tool_calls; args that are not JSON land there.
        yield new ChatGenerationChunk({
          text: '',
          message: new AIMessageChunk({ content: '', tool_call_chunks: [{ type: 'tool_call_chunk', name: 'invalid_tool_call', args: event.raw, index: nextToolIndex() }] }),
        });
        break;
      case 'token':
        yield new ChatGenerationChunk({
          text: '',
          message: new AIMessageChunk({ content: '' }),
          generationInfo: { logprobs: { content: [toLogprob(event.token, event.top)] } },
        });
        break;
      case 'finish':
        yield new ChatGenerationChunk({
          text: '',
          message: new AIMessageChunk({
            content: '',
            usage_metadata: toUsageMetadata(event.usage),
            response_metadata: { finish_reason: finishReasons[event.reason], model_name: this.model.id },
          }),
          generationInfo: { finish_reason: finishReasons[event.reason] },
        });
        break;
    }
  }

  async _generate(messages: BaseMessage[], options: this['ParsedCallOptions'], runManager?: CallbackManagerForLLMRun): Promise<ChatResult> {
    let merged: ChatGenerationChunk | undefined;
    for await (const chunk of this._streamResponseChunks(messages, options, runManager)) merged = merged ? merged.concat(chunk) : chunk;
    // The chunk itself is the answer: LangChain's output parsers expect an AIMessageChunk.
    const message = (merged?.message as AIMessageChunk | undefined) ?? new AIMessageChunk({ content: '' });
    return {
      generations: [{ text: typeof message.content === 'string' ? message.content : '', message, generationInfo: merged?.generationInfo }],
      llmOutput: { tokenUsage: message.usage_metadata },
    };
  }
}

function toToolSpec(tool: BindToolsInput): ToolSpec {
  const maybeLookout = tool as { spec?: ToolSpec };
  if (maybeLookout.spec && typeof maybeLookout.spec.name === 'string' && maybeLookout.spec.parameters) return maybeLookout.spec;
  const openai = convertToOpenAITool(tool as Parameters<typeof convertToOpenAITool>[0]);
  return {
    name: openai.function.name,
    description: openai.function.description ?? '',
    parameters: (openai.function.parameters as Record<string, unknown>) ?? { type: 'object', properties: {} },
  };
}

function toUsageMetadata(usage: Usage) {
  return {
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    ...(usage.cachedInputTokens ? { input_token_details: { cache_read: usage.cachedInputTokens } } : {}),
  };
}

// OpenAI's logprob shape, plus the vocabulary id where the model gives one.
const oneLogprob = (t: TokenLogprob) => ({ token: t.token, logprob: t.logprob, ...(t.id !== undefined ? { id: t.id } : {}) });

function toLogprob(token: TokenLogprob, top: TokenLogprob[]) {
  return { ...oneLogprob(token), top_logprobs: top.map(oneLogprob) };
}
