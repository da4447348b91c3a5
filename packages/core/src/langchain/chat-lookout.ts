import { BaseChatModel, type BaseChatModelCallOptions, type BaseChatModelParams, type BindToolsInput, type LangSmithParams } from '@langchain/core/language_models/chat_models';
import type { ModelProfile } from '@langchain/core/language_models/profile';
import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import { AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs';
import { RunnableLambda, type Runnable } from '@langchain/core/runnables';
import { convertToOpenAITool } from '@langchain/core/utils/function_calling';
import type { FinishReason, LanguageModel, ModelEvent, ModelRequest, ResponseFormat, SamplingSettings, TokenLogprob, ToolChoice, ToolSpec, Usage } from '@lookout/runtime';
import { assembleStructuredOutputPipeline, createContentParser, createFunctionCallingParser } from '@langchain/core/language_models/structured_output';
import { toJsonSchema } from '@langchain/core/utils/json_schema';
import { isSerializableSchema } from '@langchain/core/utils/standard_schema';
import { isInteropZodSchema } from '@langchain/core/utils/types';
import { toLookoutMessages } from './messages.js';
import { StructuredOutputError } from './errors.js';

export interface ChatLookoutCallOptions extends BaseChatModelCallOptions {
  /** Tools for this call, as bindTools puts them: Lookout ToolSpecs. */
  tools?: ToolSpec[];
  /**
   * Whether the reply must be a tool call: 'auto' (default), 'none' (tools not offered),
   * 'required'/'any' (some tool), a tool's name or OpenAI's { type: 'function', function: { name } }.
   * Forcing needs a model that constrains its decoding (capabilities.structuredOutput).
   */
  tool_choice?: LangChainToolChoice;
  /** JSON output, constrained at decode time: OpenAI's response_format shapes. */
  response_format?: { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; json_schema: { name?: string; schema: Record<string, unknown>; strict?: boolean } };
  /** Per-call sampling on top of the model's defaults. */
  sampling?: SamplingSettings;
  /** Ask for per-token log-probabilities (in each chunk's generationInfo.logprobs). */
  topLogprobs?: number;
}

export type LangChainToolChoice = 'auto' | 'none' | 'required' | 'any' | string | { type: 'function'; function: { name: string } };

export interface ChatLookoutFields extends BaseChatModelParams {
  /** Any Lookout LanguageModel: OnnxModel (in-process), OpenAICompatibleModel (served), a test double. */
  model: LanguageModel;
  sampling?: SamplingSettings;
  /** LangChain's standard parameter: `sampling.temperature` (which wins when both are given). */
  temperature?: number;
  /** LangChain's standard parameter: `sampling.maxTokens` (which wins when both are given). */
  maxTokens?: number;
  /** Stop sequences for every call (a call's own `stop` adds to them). */
  stop?: string[];
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
  readonly stop?: string[];
  private readonly maxInputTokens?: number;

  static lc_name(): string {
    return 'ChatLookout';
  }

  constructor(fields: ChatLookoutFields) {
    super(fields);
    this.model = fields.model;
    const standard: SamplingSettings = {};
    if (fields.temperature !== undefined) standard.temperature = fields.temperature;
    if (fields.maxTokens !== undefined) standard.maxTokens = fields.maxTokens;
    this.sampling = Object.keys(standard).length ? { ...standard, ...fields.sampling } : fields.sampling;
    this.stop = fields.stop;
    this.maxInputTokens = fields.maxInputTokens;
  }

  _llmType(): string {
    return 'lookout';
  }

  /**
   * What LangChain (and createAgent) may rely on. Forced tool calls and native structured output
   * are claimed only for models that constrain their decoding (the in-process runtime, or a served
   * engine that honours response_format / tool_choice).
   */
  get profile(): ModelProfile {
    const caps = this.model.capabilities;
    const constrained = caps.structuredOutput === true;
    return {
      imageInputs: caps.images,
      imageUrlInputs: caps.images,
      toolCalling: caps.tools,
      toolChoice: caps.tools && constrained,
      structuredOutput: constrained,
      ...(this.maxInputTokens ? { maxInputTokens: this.maxInputTokens } : {}),
    };
  }

  /** Accepts LangChain tools, OpenAI-format tools and Lookout tools (anything with a `spec`). */
  bindTools(tools: BindToolsInput[], kwargs?: Partial<ChatLookoutCallOptions>): Runnable<BaseLanguageModelInput, AIMessageChunk, ChatLookoutCallOptions> {
    return this.withConfig({ tools: tools.map(toToolSpec), ...kwargs } as Partial<ChatLookoutCallOptions>);
  }

  /**
   * Structured output, validated against the schema before it is returned (a zod schema or a
   * standard schema; a plain JSON Schema is parsed, not validated). Methods:
   * - 'functionCalling' (default): one tool named after the schema, the call forced when the
   *   model constrains its decoding;
   * - 'jsonSchema': response_format json_schema, the reply is JSON valid against the schema;
   * - 'jsonMode': response_format json_object, any JSON object.
   * `includeRaw` gives { raw, parsed } (parsed null when parsing failed).
   */
  // The base class declares several overloads; one implementation serves them all.
  withStructuredOutput(schema: any, config?: any): any {
    const method: string = config?.method ?? 'functionCalling';
    const includeRaw = Boolean(config?.includeRaw);
    const jsonSchema = (isInteropZodSchema(schema) || isSerializableSchema(schema) ? toJsonSchema(schema) : schema) as Record<string, unknown>;
    const name: string = config?.name ?? (typeof schema?.name === 'string' && !isInteropZodSchema(schema) ? schema.name : 'extract');
    const tracing = { ls_structured_output_format: { kwargs: { method }, schema: jsonSchema as never } };
    let llm: Runnable<BaseLanguageModelInput, AIMessageChunk>;
    let parser: Runnable<AIMessageChunk, unknown>;
    if (method === 'jsonSchema' || method === 'jsonMode') {
      const response_format: ChatLookoutCallOptions['response_format'] =
        method === 'jsonMode' ? { type: 'json_object' } : { type: 'json_schema', json_schema: { name, schema: jsonSchema, strict: true } };
      llm = this.withConfig({ response_format, ...tracing } as Partial<ChatLookoutCallOptions>);
      parser = createContentParser(schema) as unknown as Runnable<AIMessageChunk, unknown>;
    } else if (method === 'functionCalling') {
      const description = typeof jsonSchema.description === 'string' ? jsonSchema.description : 'Answer with this structure.';
      const tool: ToolSpec = { name, description, parameters: jsonSchema };
      llm = this.bindTools([{ spec: tool } as unknown as BindToolsInput], { tool_choice: name, ...tracing } as Partial<ChatLookoutCallOptions>);
      parser = createFunctionCallingParser(schema, name) as unknown as Runnable<AIMessageChunk, unknown>;
    } else {
      throw new StructuredOutputError(`withStructuredOutput method "${method}" is not supported; use "functionCalling", "jsonSchema" or "jsonMode".`, undefined);
    }
    // Parser failures (bad JSON, schema violations) come out as one typed error with the raw value.
    const checked = RunnableLambda.from(async (message: AIMessageChunk, runConfig) => {
      let value: unknown;
      try {
        value = await parser.invoke(message, runConfig);
      } catch (error) {
        throw new StructuredOutputError(`the model's structured output does not match the schema: ${(error as Error).message}`, structuredRaw(message));
      }
      if (value === undefined || value === null) throw new StructuredOutputError(`the model gave no structured output (method "${method}").`, structuredRaw(message));
      return value;
    });
    return assembleStructuredOutputPipeline(llm, checked as never, includeRaw, includeRaw ? 'StructuredOutputRunnable' : 'StructuredOutput');
  }

  invocationParams(options?: this['ParsedCallOptions']): Record<string, unknown> {
    return { model: this.model.id, ...this.sampling, ...options?.sampling };
  }

  /**
   * What identifies this model's answers in a cache key: the model and its sampling defaults
   * (LangChain adds the call's options). `cache: true` uses one global cache for every chat model,
   * so without these two ChatLookouts over different models would share answers.
   */
  _identifyingParams(): Record<string, unknown> {
    return { model: this.model.id, ...(this.sampling ? { sampling: this.sampling } : {}), ...(this.stop?.length ? { stop: this.stop } : {}) };
  }

  /** LangSmith's standard parameters, as sent: Lookout's default temperature is 0 (greedy). */
  getLsParams(options: this['ParsedCallOptions']): LangSmithParams {
    const sampling: SamplingSettings = { ...this.sampling, ...options?.sampling };
    const stop = [...(sampling.stop ?? []), ...(this.stop ?? []), ...(options?.stop ?? [])];
    return {
      ls_provider: 'lookout',
      ls_model_name: this.model.id,
      ls_model_type: 'chat',
      ls_temperature: sampling.temperature ?? 0,
      ...(sampling.maxTokens !== undefined ? { ls_max_tokens: sampling.maxTokens } : {}),
      ls_stop: stop.length ? stop : undefined,
    };
  }

  async *_streamResponseChunks(messages: BaseMessage[], options: this['ParsedCallOptions'], runManager?: CallbackManagerForLLMRun): AsyncGenerator<ChatGenerationChunk> {
    const request: ModelRequest = { messages: toLookoutMessages(messages) };
    const sampling: SamplingSettings = { ...this.sampling, ...options.sampling };
    const stop = [...(this.stop ?? []), ...(options.stop ?? [])];
    if (stop.length) sampling.stop = [...(sampling.stop ?? []), ...stop];
    if (Object.keys(sampling).length) request.sampling = sampling;
    if (options.tools?.length) request.tools = options.tools;
    if (options.topLogprobs !== undefined) request.topLogprobs = options.topLogprobs;
    const toolChoice = toToolChoice(options.tool_choice, request.tools);
    if (toolChoice) request.toolChoice = toolChoice;
    const responseFormat = toResponseFormat(options.response_format);
    if (responseFormat) request.responseFormat = responseFormat;

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
            response_metadata: { finish_reason: finishReasons[event.reason], model_name: this.model.id, model: this.model.id, model_provider: 'lookout' },
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

/** What the model gave for structured output: its first tool call's arguments, else its text. */
function structuredRaw(message: AIMessageChunk): unknown {
  return message.tool_calls?.[0]?.args ?? message.content;
}

/** LangChain's tool_choice forms as Lookout's; 'any' is LangChain's word for 'required'. */
function toToolChoice(choice: LangChainToolChoice | undefined, tools: ToolSpec[] | undefined): ToolChoice | undefined {
  if (choice === undefined || choice === 'auto') return undefined;
  if (choice === 'none') return 'none';
  if (choice === 'required' || choice === 'any') return 'required';
  const name = typeof choice === 'string' ? choice : choice?.function?.name;
  if (typeof name !== 'string' || !tools?.some((t) => t.name === name)) {
    throw new StructuredOutputError(`tool_choice names "${String(name)}", which is not among the bound tools (${(tools ?? []).map((t) => t.name).join(', ') || 'none'}).`, choice);
  }
  return { name };
}

function toResponseFormat(format: ChatLookoutCallOptions['response_format']): ResponseFormat | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  const { name, schema, strict } = format.json_schema;
  return { type: 'json_schema', schema, ...(name ? { name } : {}), ...(strict !== undefined ? { strict } : {}) };
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
