import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { LanguageModel, ModelRequest, PreparedRequest, ToolChoice } from '@lookout/runtime';
import { chatCompletionRequestSchema, completionRequestSchema, describeZodError, zodErrorParam } from './schema.js';
import { chatRequestToModelRequest, completionRequestToModelRequest } from './from-openai.js';
import { ConcurrencyLimiter } from './limiter.js';
import { ServeError } from './errors.js';
import { toServeError } from './model-errors.js';
import { checkHost, isJsonContentType, resolveAllowedHosts } from './request-checks.js';
import { ChatResponseWriter, CompletionResponseWriter, type ResponseWriter } from './response-writer.js';

export interface LookoutServerOptions {
  model: LanguageModel;
  /** The name clients put in `model` and GET /v1/models lists. Default: model.id. */
  modelName?: string;
  /** Requests generating at the same time (one per model replica is right for a single GPU). Default 1. */
  maxConcurrent?: number;
  /** Requests allowed to wait for a slot before 429. Default 16. */
  maxQueued?: number;
  /** Largest accepted request body. Default 20 MiB (a few base64 images). */
  maxBodyBytes?: number;
  /** Retry-After sent with 429 and 503. Default 1 s. */
  retryAfterSeconds?: number;
  /** Let the model fetch http(s) image URLs named in requests. Default false. */
  allowImageUrls?: boolean;
  /** How long close() waits for in-flight requests before cutting connections. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** Streamed responses with no output for this long get headers and then an SSE comment every this often. Default 15 s; 0 = off. */
  keepAliveMs?: number;
  /** When set, /v1/* requests need "Authorization: Bearer <one of these>" (GET /health stays open for load balancers). */
  apiKeys?: string[];
  /**
   * Host names accepted in the Host header (DNS rebinding: a web page whose domain resolves to
   * 127.0.0.1 must not reach a loopback server). Default: when listening on a loopback address,
   * localhost, 127.0.0.1, [::1] and the address listened on; on any other address, any host.
   * Names given here are accepted in addition to those defaults; "*" accepts any host.
   */
  allowedHosts?: string[];
  /**
   * False: image input is refused with 400 images_unsupported before it reaches the model (a
   * served engine without a vision projector; `lookout serve --no-images`). Default true.
   */
  images?: boolean;
  /** One line per request (method, path, status, ms). */
  log?: (line: string) => void;
}

/**
 * An OpenAI-compatible HTTP server over any LanguageModel: POST /v1/chat/completions and
 * /v1/completions (streamed and not), GET /v1/models, GET /v1/models/{id}, GET /health.
 */
export class LookoutServer {
  readonly modelName: string;
  private readonly options: LookoutServerOptions;
  private readonly limiter: ConcurrencyLimiter;
  private readonly server: Server;
  private readonly inFlight = new Set<Promise<void>>();
  private draining = false;
  /** Host names the Host header may name; undefined = any (set by listen()). */
  private allowedHosts?: Set<string>;
  private closing?: Promise<void>;
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(options: LookoutServerOptions) {
    this.options = options;
    this.modelName = options.modelName ?? options.model.id;
    this.limiter = new ConcurrencyLimiter(options.maxConcurrent ?? 1, options.maxQueued ?? 16, options.retryAfterSeconds ?? 1);
    this.server = createServer((req, res) => {
      const work = this.handle(req, res).catch((err) => this.sendError(res, err));
      this.inFlight.add(work);
      void work.finally(() => {
        this.inFlight.delete(work);
        if (this.draining) this.server.closeIdleConnections();
      });
    });
  }

  /** Starts listening; resolves with the base URL clients use (ending in /v1). */
  async listen(port = 8000, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.allowedHosts = resolveAllowedHosts((this.server.address() as AddressInfo).address, host, this.options.allowedHosts);
    return this.url;
  }

  get url(): string {
    const addr = this.server.address() as AddressInfo | null;
    if (!addr) throw new ServeError(500, 'not_listening', 'the server is not listening; call listen() first');
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return `http://${host}:${addr.port}/v1`;
  }

  /** Graceful shutdown: refuse new requests, let in-flight ones finish, then close every connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.draining = true;
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      const timeoutMs = this.options.shutdownTimeoutMs ?? 30_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
      const result = await Promise.race([Promise.allSettled([...this.inFlight]).then(() => 'done' as const), timedOut]);
      clearTimeout(timer);
      // Nothing is in flight any more (or the wait ran out): whatever sockets remain carry no work.
      this.server.closeAllConnections();
      if (result === 'timeout') this.options.log?.(`shutdown: cut ${this.inFlight.size} requests still running after ${timeoutMs} ms`);
      await closed;
    })();
    return this.closing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    res.on('finish', () => this.options.log?.(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms`));
    if (this.draining) res.setHeader('connection', 'close');
    checkHost(req, this.allowedHosts);
    const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '') || '/';
    if (path === '/health') return this.health(req, res);
    if (path.startsWith('/v1/')) this.authorize(req);
    if (path === '/v1/models') {
      requireMethod(req, 'GET');
      return sendJson(res, 200, { object: 'list', data: [this.modelObject()] });
    }
    if (path.startsWith('/v1/models/')) {
      requireMethod(req, 'GET');
      let id: string;
      try {
        id = decodeURIComponent(path.slice('/v1/models/'.length));
      } catch {
        id = path.slice('/v1/models/'.length);
      }
      if (id !== this.modelName) throw new ServeError(404, 'model_not_found', `model "${id}" is not served here; this server serves "${this.modelName}"`, {}, 'model');
      return sendJson(res, 200, this.modelObject());
    }
    if (path === '/v1/chat/completions' || path === '/v1/completions') {
      requireMethod(req, 'POST');
      requireJson(req);
      if (this.draining)
        throw new ServeError(503, 'shutting_down', 'server is shutting down; send the request to another replica', { 'retry-after': String(this.options.retryAfterSeconds ?? 1) });
      return this.generate(req, res, path === '/v1/chat/completions');
    }
    throw new ServeError(404, 'not_found', `no route ${req.method} ${path}; routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /v1/models/{id}, GET /health`);
  }

  private modelObject() {
    return { id: this.modelName, object: 'model', created: this.created, owned_by: 'lookout' };
  }

  private authorize(req: IncomingMessage): void {
    const keys = this.options.apiKeys;
    if (!keys?.length) return;
    const header = req.headers.authorization ?? '';
    const given = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    // Compare digests so the check takes the same time whatever the key's length or prefix.
    const digest = (k: string) => createHash('sha256').update(k).digest();
    if (given && keys.some((k) => timingSafeEqual(digest(k), digest(given)))) return;
    throw new ServeError(401, 'invalid_api_key', given ? 'the API key is not valid for this server' : 'this server needs an API key: send "Authorization: Bearer <key>"', {
      'www-authenticate': 'Bearer',
    });
  }

  private health(req: IncomingMessage, res: ServerResponse): void {
    requireMethod(req, 'GET');
    sendJson(res, this.draining ? 503 : 200, {
      status: this.draining ? 'draining' : 'ok',
      model: this.modelName,
      active: this.limiter.active,
      queued: this.limiter.waiting,
    });
  }

  private async generate(req: IncomingMessage, res: ServerResponse, chat: boolean): Promise<void> {
    const raw = await readBody(req, this.options.maxBodyBytes ?? 20 * 1024 * 1024);
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      throw new ServeError(400, 'invalid_json', `request body is not valid JSON: ${(err as Error).message}`);
    }
    const schema = chat ? chatCompletionRequestSchema : completionRequestSchema;
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new ServeError(400, 'invalid_request', describeZodError(parsed.error), {}, zodErrorParam(parsed.error));
    const body = parsed.data;
    if (body.model !== this.modelName)
      throw new ServeError(404, 'model_not_found', `model "${body.model}" is not served here; this server serves "${this.modelName}" (GET /v1/models)`);
    const request = chat
      ? chatRequestToModelRequest(parsed.data as never, { allowImageUrls: this.options.allowImageUrls ?? false })
      : completionRequestToModelRequest(parsed.data as never);
    this.checkCapabilities(request, chat);

    // A client that disconnects cancels its generation (or its place in the queue).
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new Error('client disconnected'));
    });
    // Invalid input (an image that does not decode, a prompt longer than the context, messages
    // the chat format cannot render) is found here, before any byte of the response, so streamed
    // and non-streamed requests alike get a 400 with OpenAI's error body instead of a 200.
    let prepared: PreparedRequest | undefined;
    try {
      prepared = await this.options.model.prepare?.(request, { signal: controller.signal });
    } catch (err) {
      if (controller.signal.aborted) return;
      throw toServeError(err, { chat, retryAfterSeconds: this.options.retryAfterSeconds });
    }
    const stream = body.stream === true;
    const writer: ResponseWriter = chat
      ? new ChatResponseWriter(res, this.modelName, `chatcmpl-${randomUUID()}`, stream, body.stream_options?.include_usage === true, forcedToolChoice(request))
      : new CompletionResponseWriter(res, this.modelName, `cmpl-${randomUUID()}`, stream, body.stream_options?.include_usage === true);
    // Heartbeats cover the wait in the queue too.
    writer.keepAlive(this.options.keepAliveMs ?? 15_000);
    let release: () => void;
    try {
      release = await this.limiter.acquire(controller.signal);
    } catch (err) {
      if (controller.signal.aborted) return;
      throw err;
    }
    try {
      try {
        for await (const event of this.options.model.stream(request, { signal: controller.signal, prepared })) {
          if (controller.signal.aborted) break;
          writer.event(event);
        }
      } catch (err) {
        if (controller.signal.aborted) return;
        // Before the first byte the client gets a proper status; after it, an error event in the stream.
        const error = toServeError(err, { chat, retryAfterSeconds: this.options.retryAfterSeconds });
        if (error.status >= 500) this.options.log?.(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        if (!res.headersSent) throw error;
        writer.error(error);
        return;
      }
      if (!controller.signal.aborted) writer.end();
    } finally {
      release();
      // The client is gone: drop the half-written response so the socket does not linger.
      if (controller.signal.aborted && !res.writableEnded) res.destroy();
    }
  }

  private checkCapabilities(request: ModelRequest, chat: boolean): void {
    const caps = this.options.model.capabilities;
    const hasImages = request.messages?.some((m) => m.role === 'user' && typeof m.content !== 'string' && m.content.some((p) => p.type === 'image'));
    if (hasImages && this.options.images === false)
      throw new ServeError(400, 'images_unsupported', `model "${this.modelName}" is served without image input (--no-images); send text only`, {}, 'messages');
    if (hasImages && !caps.images) throw new ServeError(400, 'images_unsupported', `model "${this.modelName}" does not take images; send text only`, {}, 'messages');
    const forcedTool = request.toolChoice === 'required' || typeof request.toolChoice === 'object';
    const format = request.responseFormat?.type;
    if ((forcedTool || format === 'json_object' || format === 'json_schema') && !caps.structuredOutput)
      throw new ServeError(400, 'response_format_unsupported', `model "${this.modelName}" cannot constrain its output; leave out response_format and use tool_choice "auto"`, {}, forcedTool ? 'tool_choice' : 'response_format');
    if (request.tools?.length && !caps.tools) throw new ServeError(400, 'tools_unsupported', `model "${this.modelName}" does not support tools; leave out "tools"`);
    if (request.topLogprobs !== undefined && !caps.logprobs)
      throw new ServeError(400, 'logprobs_unsupported', `model "${this.modelName}" cannot return log-probabilities; leave out "logprobs"`);
    if (!chat && !caps.rawPrompt) throw new ServeError(400, 'completions_unsupported', `model "${this.modelName}" takes chat messages only; use /v1/chat/completions`);
  }

  private sendError(res: ServerResponse, err: unknown): void {
    const e = toServeError(err);
    if (e.status >= 500) this.options.log?.(`error: ${e.message}`);
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
    sendJson(res, e.status, e.toBody());
  }
}

/** tool_choice "required" or a named tool: the reply must be a call. */
function forcedToolChoice(request: ModelRequest): ToolChoice | undefined {
  const choice = request.toolChoice;
  return choice === 'required' || typeof choice === 'object' ? choice : undefined;
}

/**
 * Generation takes JSON bodies only. A web page can POST text/plain (or a form) to any address
 * without a CORS preflight; requiring application/json means a browser must ask first, and this
 * server answers no preflight, so a page cannot make a local server generate.
 */
function requireJson(req: IncomingMessage): void {
  if (isJsonContentType(req.headers['content-type'])) return;
  req.resume();
  const given = req.headers['content-type'] ? `"${req.headers['content-type']}"` : 'no content-type';
  throw new ServeError(415, 'unsupported_media_type', `${req.url} takes a JSON body with "content-type: application/json"; the request sent ${given}`, { connection: 'close' }, null);
}

function requireMethod(req: IncomingMessage, method: string): void {
  if (req.method !== method) throw new ServeError(405, 'method_not_allowed', `${req.url} takes ${method}, not ${req.method}`, { allow: method });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads the body, refusing with 413 as soon as it is known to exceed `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  // The rest of an oversized upload is drained and dropped, and the connection closes after the 413,
  // so it is never parsed as a request. (Breaking a for-await would destroy the socket before the 413.)
  const tooLarge = () => new ServeError(413, 'body_too_large', `request body exceeds ${limit} bytes; send smaller or fewer images`, { connection: 'close' });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}
