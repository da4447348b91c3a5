/**
 * OnnxModel: the runtime's LanguageModel over an in-process engine (by default an OnnxEngine in
 * a worker thread). It renders the request (chat messages through the chat format, or raw
 * prompt segments as given), runs one generation at a time through the model's queue, and turns
 * the output into ModelEvents: text deltas, tool calls parsed by the chat format, per-token
 * log-probabilities when asked for, and a finish with usage.
 */
import { randomUUID } from 'node:crypto';
import type { ForwardEngine } from '../../model/engine.js';
import type {
  FinishReason,
  ImageInput,
  LanguageModel,
  ModelCapabilities,
  ModelEvent,
  ModelRequest,
  PreparedRequest,
  PromptSegment,
  StreamOptions,
  ToolSpec,
} from '../../model/types.js';
import type { VisionInputs } from '../../model/engine.js';
import { RequestQueue, type RequestQueueStats } from '../concurrency/request-queue.js';
import { ContextLengthExceededError, GenerationAbortedError, InvalidGenerationRequestError, InvalidModelRequestError } from '../errors.js';
import { validateSampling } from '../../sampling/sampler.js';
import { generate, type GenerationFinishReason } from '../generate.js';
import { AsyncQueue } from '../../async/async-queue.js';
import type { OnnxModelParts, OutputEvent } from './model-parts.js';
import { loadOnnxModelParts, type OnnxModelLoadOptions } from './load-onnx-model.js';
import { compileConstraint, isConstrained, offeredTools } from '../../constraints/request-grammar.js';
import type { CompiledGrammar } from '../../constraints/token-constraint.js';
import { ConstraintError } from '../../constraints/errors.js';
import { isVocabularySource } from '../../constraints/vocabulary.js';

/** A request OnnxModel.prepare checked and turned into token ids and vision inputs. */
class OnnxPreparedRequest implements PreparedRequest {
  /** The vision buffer is handed to the engine's thread on use: a prepared request runs once. */
  used = false;
  constructor(
    readonly model: OnnxModel,
    readonly request: ModelRequest,
    readonly tools: ToolSpec[],
    readonly inputIds: number[],
    readonly vision: VisionInputs | undefined,
    readonly contextLength: number | undefined,
    /** The response format / forced tool call as a grammar (absent: free decoding). */
    readonly grammar: CompiledGrammar | undefined,
  ) {}

  get promptTokens(): number {
    return this.inputIds.length;
  }
}

/** Error codes that mean the engine's thread is gone, not that a request was bad. */
const DEAD_ENGINE_CODES = new Set(['ENGINE_WORKER_CRASHED', 'ENGINE_WORKER_EXITED']);

export class OnnxModel implements LanguageModel {
  readonly id: string;
  readonly capabilities: ModelCapabilities;
  private readonly queue: RequestQueue;
  private currentEngine: ForwardEngine;
  private engineDead = false;

  constructor(private readonly parts: OnnxModelParts) {
    this.id = parts.id;
    this.currentEngine = parts.engine;
    this.capabilities = { images: parts.prepareVision !== undefined, tools: true, logprobs: true, rawPrompt: true, structuredOutput: true };
    this.queue = new RequestQueue(parts.maxQueue ?? 16);
  }

  /** Loads a model directory (building its ONNX graphs first if needed). */
  static async load(modelDir: string, options: OnnxModelLoadOptions = {}): Promise<OnnxModel> {
    return new OnnxModel(await loadOnnxModelParts(modelDir, options));
  }

  get engine(): ForwardEngine {
    return this.currentEngine;
  }

  get queueStats(): RequestQueueStats {
    return this.queue.stats;
  }

  /**
   * Checks a request and prepares its inputs without generating: renders and tokenizes the
   * prompt, decodes and tiles its images, and checks that the prompt leaves room for a reply in
   * the context and that the sampling settings are valid. Throws the typed error of whatever is
   * wrong (ImageError, ChatFormatError, ContextLengthExceededError, InvalidSamplingError, ...).
   */
  async prepare(request: ModelRequest, options: Pick<StreamOptions, 'signal'> = {}): Promise<PreparedRequest> {
    validateRequest(request, this.capabilities);
    return this.prepareInputs(request, options.signal);
  }

  async *stream(request: ModelRequest, options: StreamOptions = {}): AsyncIterable<ModelEvent> {
    validateRequest(request, this.capabilities);
    const given = options.prepared;
    const prepared = given instanceof OnnxPreparedRequest && given.model === this && given.request === request && !given.used ? given : undefined;
    if (prepared) prepared.used = true;
    // One controller per request: the caller's signal, or the caller leaving the loop early.
    const controller = new AbortController();
    const outer = options.signal;
    const onOuterAbort = () => controller.abort(outer?.reason);
    if (outer?.aborted) controller.abort(outer.reason);
    else outer?.addEventListener('abort', onOuterAbort, { once: true });

    const channel = new AsyncQueue<ModelEvent>();
    const done = this.queue
      .run(() => this.run(request, prepared, channel, controller.signal), controller.signal)
      .then(
        () => channel.close(),
        (error) => {
          if (error instanceof GenerationAbortedError) {
            channel.push({ type: 'finish', reason: 'abort', usage: { inputTokens: 0, outputTokens: 0 } });
            channel.close();
          } else channel.fail(error);
        },
      );
    try {
      yield* channel;
    } finally {
      controller.abort();
      outer?.removeEventListener('abort', onOuterAbort);
      await done;
    }
  }

  async dispose(): Promise<void> {
    await this.currentEngine.dispose();
  }

  private async run(request: ModelRequest, prepared: OnnxPreparedRequest | undefined, channel: AsyncQueue<ModelEvent>, signal: AbortSignal): Promise<void> {
    if (this.engineDead && this.parts.restartEngine) {
      await this.currentEngine.dispose().catch(() => {});
      this.currentEngine = await this.parts.restartEngine();
      this.engineDead = false;
    }
    try {
      await this.runOnEngine(prepared ?? (await this.prepareInputs(request, signal)), channel, signal);
    } catch (error) {
      if (DEAD_ENGINE_CODES.has((error as { code?: string }).code ?? '')) this.engineDead = true;
      throw error;
    }
  }

  private async prepareInputs(request: ModelRequest, signal?: AbortSignal): Promise<OnnxPreparedRequest> {
    const { tokenizer, chat } = this.parts;
    // toolChoice 'none': the tools are not offered at all.
    const tools = offeredTools(request);
    const grammar = this.compileGrammar(request, tools);
    validateSampling(request.sampling);
    const maxTokens = request.sampling?.maxTokens;
    if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1))
      throw new InvalidGenerationRequestError(`sampling.maxTokens must be an integer >= 1, got ${maxTokens}.`);
    const segments: PromptSegment[] = request.prompt ?? (await chat.render(request.messages!, tools));
    const images: ImageInput[] = segments.flatMap((s) => (s.type === 'image' ? [s.image] : []));
    // Before encoding: a text-only tokenizer has no image token to encode them with.
    if (images.length > 0 && !this.parts.prepareVision)
      throw new InvalidModelRequestError(`${this.id} is a text-only model; the request has ${images.length} image(s). Send text only or load a Llama 3.2 Vision (Mllama) model.`);
    const inputIds = tokenizer.encodeSegments(segments);
    // Before the images: a prompt that cannot run is refused without decoding them.
    const contextLength = this.currentEngine.contextLength;
    if (contextLength !== undefined && inputIds.length >= contextLength) throw new ContextLengthExceededError(inputIds.length, contextLength);
    if (signal?.aborted) throw new GenerationAbortedError();
    const vision = images.length > 0 ? await this.parts.prepareVision!(images, inputIds, tokenizer.imageId()) : undefined;
    return new OnnxPreparedRequest(this, request, tools, inputIds, vision, contextLength, grammar);
  }

  /** The request's constraint, checked (typed ConstraintError) before anything runs. */
  private compileGrammar(request: ModelRequest, tools: ToolSpec[]): CompiledGrammar | undefined {
    const spec = { responseFormat: request.responseFormat, toolChoice: request.toolChoice, tools };
    if (!isConstrained(spec)) return compileConstraint(spec, { vocabSize: 0, tokenBytes: () => undefined });
    const { tokenizer } = this.parts;
    if (!isVocabularySource(tokenizer))
      throw new ConstraintError('CONSTRAINT_UNSUPPORTED_TOKENIZER', `${this.id}: its tokenizer cannot tell the bytes of its tokens, so replies cannot be constrained.`);
    return compileConstraint(spec, tokenizer);
  }

  private async runOnEngine(prepared: OnnxPreparedRequest, channel: AsyncQueue<ModelEvent>, signal: AbortSignal): Promise<void> {
    const { tokenizer, chat } = this.parts;
    const { request, tools, inputIds, vision, grammar } = prepared;
    const parser = tools.length > 0 ? chat.createOutputParser(tools) : undefined;

    let toolCalls = 0;
    const emit = (events: OutputEvent[]) => {
      for (const e of events) {
        if (e.type === 'text') {
          if (e.text) channel.push({ type: 'text-delta', text: e.text });
        } else if (e.type === 'tool-call') {
          toolCalls++;
          channel.push({ type: 'tool-call', call: { id: e.id ?? `call_${randomUUID().slice(0, 8)}`, name: e.name, arguments: e.arguments } });
        } else channel.push(e);
      }
    };
    const wantLogprobs = request.topLogprobs !== undefined;
    const tokenText = (id: number) => tokenizer.decode([id]);

    const result = await generate(this.currentEngine, tokenizer, {
      inputIds,
      vision,
      sampling: request.sampling,
      maxTokens: request.sampling?.maxTokens ?? this.parts.defaultMaxTokens,
      eosIds: this.parts.eosIds,
      signal,
      topLogprobs: request.topLogprobs,
      // The vision inputs were prepared for this request alone: let the worker take them.
      transferInputs: true,
      decodeChunk: this.parts.decodeChunk,
      constraint: grammar?.start(this.parts.eosIds),
      // Tool-call parsers may need markers such as <|python_tag|>; plain replies leave them out.
      skipSpecial: parser === undefined,
      onText: (delta) => (parser ? emit(parser.push(delta)) : channel.push({ type: 'text-delta', text: delta })),
      onToken: wantLogprobs
        ? (t) =>
            channel.push({
              type: 'token',
              token: { token: tokenText(t.id), id: t.id, logprob: t.logprob! },
              top: (t.top ?? []).map((alt) => ({ token: tokenText(alt.id), id: alt.id, logprob: alt.logprob })),
            })
        : undefined,
    });
    if (parser) emit(parser.end());
    channel.push({
      type: 'finish',
      reason: finishReason(result.finishReason, toolCalls),
      usage: { inputTokens: inputIds.length, outputTokens: result.tokenIds.length, ...(result.cachedPromptTokens ? { cachedInputTokens: result.cachedPromptTokens } : {}) },
    });
  }
}

function finishReason(reason: GenerationFinishReason, toolCalls: number): FinishReason {
  if (reason === 'abort') return 'abort';
  if (toolCalls > 0) return 'tool-calls';
  return reason === 'length' ? 'length' : 'stop';
}

function validateRequest(request: ModelRequest, capabilities: ModelCapabilities): void {
  if (!request || typeof request !== 'object') throw new InvalidModelRequestError('The request must be an object with messages or prompt.');
  const hasMessages = request.messages !== undefined;
  const hasPrompt = request.prompt !== undefined;
  if (hasMessages === hasPrompt)
    throw new InvalidModelRequestError('A request needs exactly one of `messages` (chat form) or `prompt` (raw PromptSegment[]).');
  if (hasMessages && (!Array.isArray(request.messages) || request.messages.length === 0))
    throw new InvalidModelRequestError('`messages` must be a non-empty array of chat messages.');
  if (hasPrompt) {
    if (!Array.isArray(request.prompt) || request.prompt.length === 0)
      throw new InvalidModelRequestError('`prompt` must be a non-empty array of {type: template|content|image} segments.');
    if (!capabilities.rawPrompt) throw new InvalidModelRequestError('This model does not accept raw prompts.');
  }
  if (request.tools !== undefined && !Array.isArray(request.tools))
    throw new InvalidModelRequestError('`tools` must be an array of {name, description, parameters} specs.');
}
