import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { FinishReason, ModelEvent, TokenLogprob, ToolChoice, Usage } from '@lookout/runtime';
import type { OpenAIChatLogprob, OpenAIToolCall } from '@lookout/runtime';
import type { ServeError } from './errors.js';

/** Turns a model's event stream into one OpenAI response, streamed as SSE or sent whole as JSON. */
export interface ResponseWriter {
  /** Streaming only: after `everyMs` without output, send headers and then an SSE comment every `everyMs`. */
  keepAlive(everyMs: number): void;
  event(event: ModelEvent): void;
  end(): void;
  /** A failure after the response started: an error event in the stream, or a 500 body. */
  error(err: ServeError): void;
}

const openAIFinish = (r: FinishReason | undefined): string => (r === 'tool-calls' ? 'tool_calls' : r === 'length' ? 'length' : 'stop');
// `id` is an extension (OpenAI has no token ids); OpenAICompatibleModel reads it back so guard scores can match by id.
const oneLogprob = (t: TokenLogprob) => ({ token: t.token, logprob: t.logprob, bytes: Array.from(Buffer.from(t.token, 'utf8')), ...(t.id !== undefined ? { id: t.id } : {}) });
const toChatLogprob = (token: TokenLogprob, top: TokenLogprob[]): OpenAIChatLogprob => ({ ...oneLogprob(token), top_logprobs: top.map(oneLogprob) });
const toUsage = (u: Usage) => ({
  prompt_tokens: u.inputTokens,
  completion_tokens: u.outputTokens,
  total_tokens: u.inputTokens + u.outputTokens,
  ...(u.cachedInputTokens ? { prompt_tokens_details: { cached_tokens: u.cachedInputTokens } } : {}),
});

abstract class BaseWriter implements ResponseWriter {
  protected readonly created = Math.floor(Date.now() / 1000);
  protected finish?: FinishReason;
  protected usage: Usage = { inputTokens: 0, outputTokens: 0 };

  constructor(
    protected readonly res: ServerResponse,
    protected readonly model: string,
    protected readonly id: string,
    protected readonly streaming: boolean,
    protected readonly includeUsage: boolean,
  ) {}

  abstract event(event: ModelEvent): void;
  abstract end(): void;

  /**
   * A long queue wait or prefill (minutes for a big model on CPU) must not look like a dead
   * server to clients and proxies. Headers still wait until `everyMs` has passed, so failures
   * that come quickly (bad image, model error) keep their proper HTTP status.
   */
  keepAlive(everyMs: number): void {
    if (!this.streaming || !(everyMs > 0)) return;
    const timer = setInterval(() => {
      if (this.res.writableEnded) return clearInterval(timer);
      if (Date.now() - this.lastWrite < everyMs) return;
      this.writeHeadersOnce();
      this.lastWrite = Date.now();
      this.res.write(': keep-alive\n\n');
    }, everyMs);
    timer.unref();
    this.res.on('close', () => clearInterval(timer));
  }

  private lastWrite = Date.now();

  private writeHeadersOnce(): void {
    if (!this.res.headersSent)
      this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  }

  protected sse(data: unknown): void {
    this.writeHeadersOnce();
    this.lastWrite = Date.now();
    this.res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }

  protected json(body: unknown): void {
    const text = JSON.stringify(body);
    this.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    this.res.end(text);
  }

  error(err: ServeError): void {
    if (this.streaming && this.res.headersSent) {
      this.sse(err.toBody());
      this.res.end();
      return;
    }
    const text = JSON.stringify(err.toBody());
    this.res.writeHead(err.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    this.res.end(text);
  }
}

export class ChatResponseWriter extends BaseWriter {
  private text = '';
  private readonly toolCalls: OpenAIToolCall[] = [];
  private readonly logprobs: OpenAIChatLogprob[] = [];
  private sentRole = false;
  /** A forced call was cut short: the finish reason stays the model's ("length"), not "tool_calls". */
  private cutCall = false;

  constructor(
    res: ServerResponse,
    model: string,
    id: string,
    streaming: boolean,
    includeUsage: boolean,
    /** The request's tool_choice when it forces a call ("required" or a named tool). */
    private readonly forcedTool?: ToolChoice,
  ) {
    super(res, model, id, streaming, includeUsage);
  }

  private chunk(delta: object, extra: object = {}): void {
    if (!this.sentRole) {
      this.sentRole = true;
      delta = { role: 'assistant', ...delta };
    }
    this.sse({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: null, ...extra }] });
  }

  event(e: ModelEvent): void {
    switch (e.type) {
      case 'text-delta':
        if (this.streaming) this.chunk({ content: e.text });
        else this.text += e.text;
        break;
      // A tool call the model wrote but nobody could parse reaches the client as the text it was,
      // unless the call was forced: then it was cut short (max_tokens, a stop string) and goes
      // out as OpenAI sends such a call, with the arguments written so far.
      case 'tool-call-error': {
        const cut = this.forcedTool ? cutForcedCall(e.raw, this.forcedTool) : undefined;
        if (cut) {
          this.cutCall = true;
          this.addToolCall({ id: `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`, type: 'function', function: cut });
        } else if (this.streaming) this.chunk({ content: e.raw });
        else this.text += e.raw;
        break;
      }
      case 'tool-call':
        this.addToolCall({ id: e.call.id, type: 'function', function: { name: e.call.name, arguments: JSON.stringify(e.call.arguments ?? {}) } });
        break;
      case 'token':
        if (this.streaming) this.chunk({}, { logprobs: { content: [toChatLogprob(e.token, e.top)] } });
        else this.logprobs.push(toChatLogprob(e.token, e.top));
        break;
      case 'finish':
        this.finish = e.reason;
        this.usage = e.usage;
        break;
    }
  }

  private addToolCall(call: OpenAIToolCall): void {
    if (this.streaming) this.chunk({ tool_calls: [{ index: this.toolCalls.length, ...call }] });
    this.toolCalls.push(call);
  }

  end(): void {
    const finish_reason = openAIFinish(this.toolCalls.length && !this.cutCall ? 'tool-calls' : this.finish);
    if (this.streaming) {
      this.chunk({}, { finish_reason });
      if (this.includeUsage) this.sse({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: toUsage(this.usage) });
      this.sse('[DONE]');
      this.res.end();
      return;
    }
    this.json({
      id: this.id,
      object: 'chat.completion',
      created: this.created,
      model: this.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: this.toolCalls.length && !this.text ? null : this.text, ...(this.toolCalls.length ? { tool_calls: this.toolCalls } : {}) },
          logprobs: this.logprobs.length ? { content: this.logprobs } : null,
          finish_reason,
        },
      ],
      usage: toUsage(this.usage),
    });
  }
}

/**
 * The name and the arguments so far of a forced call cut short: the model writes it as
 * `{"name": "<tool>", "parameters": {...}}` (docs/structured-output.md). When the cut falls
 * inside the name, the named tool_choice gives it; for "required" it is unknown (undefined).
 */
function cutForcedCall(raw: string, choice: ToolChoice): { name: string; arguments: string } | undefined {
  const m = /^\s*\{\s*"name"\s*:\s*"([A-Za-z0-9_.-]*)("?)\s*(?:,\s*"parameters"\s*:\s*([\s\S]*))?$/.exec(raw);
  const named = typeof choice === 'object' ? choice.name : undefined;
  const name = m?.[2] ? m[1] : named;
  if (!name) return undefined;
  return { name, arguments: m?.[3] ?? '' };
}

export class CompletionResponseWriter extends BaseWriter {
  private text = '';
  private readonly tokens: string[] = [];
  private readonly tokenLogprobs: number[] = [];
  private readonly topLogprobs: Array<Record<string, number>> = [];

  private chunk(choice: object): void {
    this.sse({ id: this.id, object: 'text_completion', created: this.created, model: this.model, choices: [{ index: 0, text: '', logprobs: null, finish_reason: null, ...choice }] });
  }

  event(e: ModelEvent): void {
    if (e.type === 'text-delta') {
      if (this.streaming) this.chunk({ text: e.text });
      else this.text += e.text;
    } else if (e.type === 'token') {
      const top = Object.fromEntries(e.top.map((t) => [t.token, t.logprob]));
      if (this.streaming) this.chunk({ logprobs: { tokens: [e.token.token], token_logprobs: [e.token.logprob], top_logprobs: [top] } });
      else {
        this.tokens.push(e.token.token);
        this.tokenLogprobs.push(e.token.logprob);
        this.topLogprobs.push(top);
      }
    } else if (e.type === 'finish') {
      this.finish = e.reason;
      this.usage = e.usage;
    }
  }

  end(): void {
    const finish_reason = openAIFinish(this.finish);
    if (this.streaming) {
      this.chunk({ finish_reason });
      if (this.includeUsage) this.sse({ id: this.id, object: 'text_completion', created: this.created, model: this.model, choices: [], usage: toUsage(this.usage) });
      this.sse('[DONE]');
      this.res.end();
      return;
    }
    this.json({
      id: this.id,
      object: 'text_completion',
      created: this.created,
      model: this.model,
      choices: [
        {
          index: 0,
          text: this.text,
          logprobs: this.tokens.length ? { tokens: this.tokens, token_logprobs: this.tokenLogprobs, top_logprobs: this.topLogprobs } : null,
          finish_reason,
        },
      ],
      usage: toUsage(this.usage),
    });
  }
}
