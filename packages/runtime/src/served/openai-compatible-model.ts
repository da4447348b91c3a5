import { SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type {
  LanguageModel,
  ModelCapabilities,
  ModelEvent,
  ModelRequest,
  StreamOptions,
  TokenLogprob,
  Usage,
} from '../model/types.js';
import {
  ServedAbortError,
  ServedConnectionError,
  ServedHttpError,
  ServedModelError,
  ServedProtocolError,
  ServedRequestError,
  ServedTimeoutError,
} from './errors.js';
import type {
  OpenAIChatChunk,
  OpenAIChatCompletion,
  OpenAIChatLogprob,
  OpenAICompletionChoice,
  OpenAICompletionResponse,
  OpenAIToolCallDelta,
} from './openai-wire.js';
import { backoffDelay, defaultRetryPolicy, isInputRejection, isRetryableStatus, parseRetryAfter, sleep, type RetryPolicy } from './retry.js';
import { parseSse } from './sse.js';
import { fromOpenAIFinishReason, toChatRequest, toCompletionRequest } from './to-openai.js';

export interface OpenAICompatibleModelOptions {
  /** Base URL including the API prefix, e.g. "http://localhost:8000/v1". */
  baseUrl: string;
  /** The engine's model name, as listed by GET /v1/models. */
  model: string;
  /** Sent as "Authorization: Bearer <apiKey>". */
  apiKey?: string;
  headers?: Record<string, string>;
  /** What the served model can do; defaults: images, tools, logprobs and raw prompts all true. */
  capabilities?: Partial<ModelCapabilities>;
  retry?: Partial<RetryPolicy>;
  /** Time allowed until response headers arrive (per attempt). Default 60 s. */
  timeoutMs?: number;
  /** Time allowed between two pieces of a streamed body. Default 60 s. */
  idleTimeoutMs?: number;
  /** Use SSE streaming (default) or one JSON response per request. */
  stream?: boolean;
  /** Ask for a final usage chunk with stream_options.include_usage (default true; some old servers reject it). */
  streamUsage?: boolean;
  /** Replaces global fetch (proxies, tests). */
  fetch?: typeof fetch;
  /** OpenTelemetry tracer; defaults to the global provider's "@lookout/runtime" tracer. */
  tracer?: Tracer;
  /**
   * Insert a zero-width space (U+200B) after "<" in special-token look-alikes such as "<|eot_id|>"
   * found in untrusted text (user, assistant and tool contents, tool-call arguments, raw-prompt
   * content segments), because served engines tokenize the rendered prompt with special tokens
   * parsed. Default true. Text without such sequences is sent byte-identical either way.
   */
  escapeSpecialTokens?: boolean;
  /**
   * The engine adds the model's BOS (`<|begin_of_text|>`) to a /completions prompt itself, as
   * vLLM, SGLang, llama-server and TGI do for Llama models: a raw prompt's own leading BOS is then
   * left out of the request, so the model sees one, not two (llama-server warns "the final prompt
   * starts with 2 BOS tokens"). Default false: the prompt goes as written, which is right for
   * `lookout serve`. Chat requests are not affected (the engine renders those).
   */
  engineAddsBos?: boolean;
}

interface PendingToolCall {
  id?: string;
  name: string;
  args: string;
}

const BODY_EXCERPT_CHARS = 500;

/**
 * A LanguageModel over any server that speaks the OpenAI chat-completions API (vLLM, SGLang,
 * Ollama, llama.cpp server, TGI, `lookout serve`). Chat requests go to /chat/completions, raw
 * prompts to /completions.
 */
export class OpenAICompatibleModel implements LanguageModel {
  readonly id: string;
  readonly capabilities: ModelCapabilities;
  /** Whether untrusted text is escaped before it is sent (the escapeSpecialTokens option). */
  readonly escapesSpecialTokens: boolean;
  private readonly baseUrl: string;
  private readonly options: OpenAICompatibleModelOptions;
  private readonly retryPolicy: RetryPolicy;
  private readonly fetchImpl: typeof fetch;

  constructor(options: OpenAICompatibleModelOptions) {
    if (!/^https?:\/\//i.test(options.baseUrl ?? ''))
      throw new ServedRequestError(`baseUrl must be an http(s) URL such as "http://localhost:8000/v1", got "${options.baseUrl}"`);
    if (!options.model) throw new ServedRequestError('model must name the served model (see GET <baseUrl>/models)');
    this.options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.id = `openai:${options.model}@${this.baseUrl}`;
    // Structured output is the engine's to enforce: response_format and tool_choice are forwarded.
    this.capabilities = { images: true, tools: true, logprobs: true, rawPrompt: true, structuredOutput: true, ...options.capabilities };
    this.retryPolicy = { ...defaultRetryPolicy, ...options.retry };
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.escapesSpecialTokens = options.escapeSpecialTokens ?? true;
  }

  async *stream(request: ModelRequest, options: StreamOptions = {}): AsyncIterable<ModelEvent> {
    const raw = request.prompt !== undefined;
    if (raw === (request.messages !== undefined))
      throw new ServedRequestError('a request needs exactly one of messages or prompt');
    if (options.signal?.aborted) throw new ServedAbortError(options.signal.reason);
    const stream = this.options.stream ?? true;
    const streamUsage = this.options.streamUsage ?? true;
    const wireText = { escapeSpecialTokens: this.escapesSpecialTokens };
    const body = raw
      ? toCompletionRequest(this.options.model, request, stream, streamUsage, { ...wireText, engineAddsBos: this.options.engineAddsBos })
      : await toChatRequest(this.options.model, request, stream, streamUsage, wireText);
    const url = `${this.baseUrl}${raw ? '/completions' : '/chat/completions'}`;

    const tracer = this.options.tracer ?? trace.getTracer('@lookout/runtime');
    const span = tracer.startSpan(`${raw ? 'text_completion' : 'chat'} ${this.options.model}`, {
      attributes: {
        'gen_ai.operation.name': raw ? 'text_completion' : 'chat',
        'gen_ai.request.model': this.options.model,
        ...(request.sampling?.maxTokens !== undefined ? { 'gen_ai.request.max_tokens': request.sampling.maxTokens } : {}),
        'gen_ai.request.temperature': request.sampling?.temperature ?? 0,
        'server.address': safeHost(url),
        'lookout.stream': stream,
      },
    });

    // One controller per call: the caller's signal, the timeouts and an early `break` all end the request.
    const controller = new AbortController();
    const onCallerAbort = () => controller.abort(options.signal!.reason);
    options.signal?.addEventListener('abort', onCallerAbort, { once: true });
    let finishReason: string | undefined;
    try {
      const response = await this.send(url, body, controller, options.signal, span);
      const contentType = response.headers.get('content-type') ?? '';
      const events = contentType.includes('text/event-stream')
        ? raw
          ? this.readCompletionStream(response, controller, options.signal, url)
          : this.readChatStream(response, controller, options.signal, url)
        : this.readJson(response, raw, controller, options.signal, url);
      for await (const event of events) {
        if (event.type === 'finish') {
          finishReason = event.reason;
          span.setAttributes({
            'gen_ai.usage.input_tokens': event.usage.inputTokens,
            'gen_ai.usage.output_tokens': event.usage.outputTokens,
            'gen_ai.response.finish_reasons': [event.reason],
          });
        }
        yield event;
      }
      span.setStatus({ code: SpanStatusCode.OK });
    } catch (err) {
      const mapped = mapError(err, options.signal);
      span.recordException(mapped);
      span.setAttribute('error.type', mapped instanceof ServedModelError ? mapped.code : mapped.name);
      span.setStatus({ code: SpanStatusCode.ERROR, message: mapped.message });
      throw mapped;
    } finally {
      if (!finishReason) span.setAttribute('lookout.cancelled', true);
      options.signal?.removeEventListener('abort', onCallerAbort);
      controller.abort(new ServedAbortError('stream closed'));
      span.end();
    }
  }

  /** POSTs with retries on connection failures, 408/409/429/5xx (not a 500 that refuses the input); honours Retry-After. */
  private async send(url: string, body: unknown, controller: AbortController, signal: AbortSignal | undefined, span: Span): Promise<Response> {
    const timeoutMs = this.options.timeoutMs ?? 60_000;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream, application/json', ...this.options.headers };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const payload = JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      const attemptController = new AbortController();
      const forward = () => attemptController.abort(controller.signal.reason);
      controller.signal.addEventListener('abort', forward, { once: true });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        attemptController.abort(new ServedTimeoutError('response', timeoutMs, url));
      }, timeoutMs);
      let response: Response;
      try {
        response = await this.fetchImpl(url, { method: 'POST', headers, body: payload, signal: attemptController.signal });
      } catch (err) {
        controller.signal.removeEventListener('abort', forward);
        if (signal?.aborted) throw new ServedAbortError(signal.reason);
        if (timedOut) throw new ServedTimeoutError('response', timeoutMs, url);
        if (attempt >= this.retryPolicy.maxRetries) throw new ServedConnectionError(url, err, attempt);
        span.addEvent('retry', { attempt: attempt + 1, reason: 'connection' });
        await sleep(backoffDelay(attempt, this.retryPolicy), signal).catch(() => {
          throw new ServedAbortError(signal?.reason);
        });
        continue;
      } finally {
        clearTimeout(timer);
      }
      // The response body keeps using attemptController's signal: tie it to the call's controller for good.
      if (response.ok) return response;
      controller.signal.removeEventListener('abort', forward);
      const excerpt = await readExcerpt(response);
      if (!isRetryableStatus(response.status) || isInputRejection(response.status, excerpt) || attempt >= this.retryPolicy.maxRetries)
        throw new ServedHttpError(response.status, url, excerpt, attempt);
      const wait = backoffDelay(attempt, this.retryPolicy, parseRetryAfter(response.headers.get('retry-after')));
      span.addEvent('retry', { attempt: attempt + 1, status: response.status, delayMs: wait });
      await sleep(wait, signal).catch(() => {
        throw new ServedAbortError(signal?.reason);
      });
    }
  }

  private async *readChatStream(response: Response, controller: AbortController, signal: AbortSignal | undefined, url: string): AsyncGenerator<ModelEvent> {
    const toolCalls = new Map<number, PendingToolCall>();
    let usage: Usage | undefined;
    let finish: string | null | undefined;
    for await (const sse of parseSse(this.bodyChunks(response, controller, url))) {
      if (sse.data === '[DONE]') break;
      const chunk = parseJson<OpenAIChatChunk & { error?: unknown }>(sse.data, url);
      if (chunk.error) throw streamError(chunk.error, url);
      if (chunk.usage) usage = fromUsage(chunk.usage);
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      if (choice.logprobs?.content) for (const lp of choice.logprobs.content) yield tokenEvent(lp);
      const delta = choice.delta ?? {};
      if (delta.content) yield { type: 'text-delta', text: delta.content };
      for (const tc of delta.tool_calls ?? []) mergeToolCallDelta(toolCalls, tc);
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    if (signal?.aborted) throw new ServedAbortError(signal.reason);
    yield* finishToolCalls(toolCalls);
    yield { type: 'finish', reason: fromOpenAIFinishReason(finish, toolCalls.size > 0), usage: usage ?? { inputTokens: 0, outputTokens: 0 } };
  }

  private async *readCompletionStream(response: Response, controller: AbortController, signal: AbortSignal | undefined, url: string): AsyncGenerator<ModelEvent> {
    let usage: Usage | undefined;
    let finish: string | null | undefined;
    for await (const sse of parseSse(this.bodyChunks(response, controller, url))) {
      if (sse.data === '[DONE]') break;
      const chunk = parseJson<OpenAICompletionResponse & { error?: unknown }>(sse.data, url);
      if (chunk.error) throw streamError(chunk.error, url);
      if (chunk.usage) usage = fromUsage(chunk.usage);
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      yield* completionTokens(choice);
      if (choice.text) yield { type: 'text-delta', text: choice.text };
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    if (signal?.aborted) throw new ServedAbortError(signal.reason);
    yield { type: 'finish', reason: fromOpenAIFinishReason(finish, false), usage: usage ?? { inputTokens: 0, outputTokens: 0 } };
  }

  private async *readJson(response: Response, raw: boolean, controller: AbortController, signal: AbortSignal | undefined, url: string): AsyncGenerator<ModelEvent> {
    const parts: Uint8Array[] = [];
    for await (const chunk of this.bodyChunks(response, controller, url)) parts.push(chunk);
    if (signal?.aborted) throw new ServedAbortError(signal.reason);
    const text = Buffer.concat(parts).toString('utf8');
    if (raw) {
      const body = parseJson<OpenAICompletionResponse>(text, url);
      const choice = body.choices?.[0];
      if (!choice) throw new ServedProtocolError(`${url} answered without choices: ${text.slice(0, BODY_EXCERPT_CHARS)}`);
      yield* completionTokens(choice);
      if (choice.text) yield { type: 'text-delta', text: choice.text };
      yield { type: 'finish', reason: fromOpenAIFinishReason(choice.finish_reason, false), usage: fromUsage(body.usage) };
      return;
    }
    const body = parseJson<OpenAIChatCompletion>(text, url);
    const choice = body.choices?.[0];
    if (!choice?.message) throw new ServedProtocolError(`${url} answered without choices[0].message: ${text.slice(0, BODY_EXCERPT_CHARS)}`);
    for (const lp of choice.logprobs?.content ?? []) yield tokenEvent(lp);
    if (choice.message.content) yield { type: 'text-delta', text: choice.message.content };
    const calls = new Map<number, PendingToolCall>();
    (choice.message.tool_calls ?? []).forEach((c, index) =>
      calls.set(index, { id: c.id, name: c.function?.name ?? '', args: c.function?.arguments ?? '' }),
    );
    yield* finishToolCalls(calls);
    yield { type: 'finish', reason: fromOpenAIFinishReason(choice.finish_reason, calls.size > 0), usage: fromUsage(body.usage) };
  }

  /** The response body as chunks, failing with ServedTimeoutError when the server goes quiet. */
  private async *bodyChunks(response: Response, controller: AbortController, url: string): AsyncGenerator<Uint8Array> {
    if (!response.body) return;
    const idleMs = this.options.idleTimeoutMs ?? 60_000;
    const reader = response.body.getReader();
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(new ServedTimeoutError('stream', idleMs, url)), idleMs);
    };
    try {
      arm();
      for (;;) {
        const { done, value } = await reader.read().catch((err: unknown) => {
          const reason = controller.signal.reason;
          throw reason instanceof ServedModelError ? reason : err;
        });
        if (done) return;
        arm();
        yield value;
      }
    } finally {
      clearTimeout(idle);
      reader.cancel().catch(() => undefined);
    }
  }
}

function mergeToolCallDelta(calls: Map<number, PendingToolCall>, delta: OpenAIToolCallDelta): void {
  const index = delta.index ?? calls.size;
  const pending = calls.get(index) ?? { name: '', args: '' };
  if (delta.id) pending.id = delta.id;
  if (delta.function?.name) pending.name += delta.function.name;
  if (delta.function?.arguments) pending.args += delta.function.arguments;
  calls.set(index, pending);
}

function* finishToolCalls(calls: Map<number, PendingToolCall>): Generator<ModelEvent> {
  for (const [index, call] of [...calls.entries()].sort((a, b) => a[0] - b[0])) {
    const raw = call.args.trim() === '' ? '{}' : call.args;
    if (!call.name) {
      yield { type: 'tool-call-error', raw, message: `tool call #${index} has no function name` };
      continue;
    }
    try {
      const args = JSON.parse(raw) as unknown;
      yield { type: 'tool-call', call: { id: call.id ?? `call_${index}_${Math.random().toString(36).slice(2, 10)}`, name: call.name, arguments: args } };
    } catch (err) {
      yield { type: 'tool-call-error', raw, message: `arguments of tool call "${call.name}" are not valid JSON: ${(err as Error).message}` };
    }
  }
}

function tokenEvent(lp: OpenAIChatLogprob): ModelEvent {
  // Token ids are not part of the OpenAI format; `lookout serve` adds them as `id`.
  const withId = (t: { token: string; logprob: number; id?: number }): TokenLogprob =>
    typeof t.id === 'number' ? { token: t.token, id: t.id, logprob: t.logprob } : { token: t.token, logprob: t.logprob };
  return { type: 'token', token: withId(lp), top: (lp.top_logprobs ?? []).map(withId) };
}

/** Completion logprobs in either form: legacy OpenAI (parallel arrays) or llama-server's (`content`). */
function* completionTokens(choice: OpenAICompletionChoice): Generator<ModelEvent> {
  const lp = choice.logprobs;
  if (Array.isArray(lp?.content)) {
    for (const entry of lp.content) yield tokenEvent(entry);
    return;
  }
  if (!lp?.tokens) return;
  for (let i = 0; i < lp.tokens.length; i++) {
    const top = lp.top_logprobs?.[i] ?? {};
    yield {
      type: 'token',
      token: { token: lp.tokens[i], logprob: lp.token_logprobs?.[i] ?? Number.NaN },
      top: Object.entries(top).map(([token, logprob]) => ({ token, logprob })),
    };
  }
}

function fromUsage(usage: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null } | null | undefined): Usage {
  const cached = usage?.prompt_tokens_details?.cached_tokens;
  return { inputTokens: usage?.prompt_tokens ?? 0, outputTokens: usage?.completion_tokens ?? 0, ...(cached ? { cachedInputTokens: cached } : {}) };
}

function parseJson<T>(text: string, url: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ServedProtocolError(`${url} sent data that is not JSON: ${text.slice(0, BODY_EXCERPT_CHARS)}`);
  }
}

function streamError(error: unknown, url: string): ServedModelError {
  const message = typeof error === 'object' && error && 'message' in error ? String((error as { message: unknown }).message) : JSON.stringify(error);
  return new ServedModelError('served.stream_error', `${url} reported an error mid-stream: ${message}`);
}

async function readExcerpt(response: Response): Promise<string> {
  try {
    const text = await response.text();
    return text.length > BODY_EXCERPT_CHARS ? `${text.slice(0, BODY_EXCERPT_CHARS)}…` : text;
  } catch {
    return '';
  }
}

function mapError(err: unknown, signal: AbortSignal | undefined): Error {
  if (err instanceof ServedModelError) return err;
  if (signal?.aborted) return new ServedAbortError(signal.reason);
  if (err instanceof Error) return new ServedModelError('served.unknown', err.message, { cause: err });
  return new ServedModelError('served.unknown', String(err));
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
