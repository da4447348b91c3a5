import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelEvent } from '../model/types.js';
import { OpenAICompatibleModel } from './openai-compatible-model.js';
import { ServedAbortError, ServedHttpError, ServedRequestError, ServedTimeoutError } from './errors.js';
import { parseSse } from './sse.js';
import { parseRetryAfter } from './retry.js';
import { listServedModels } from './list-models.js';

type Handler = (req: IncomingMessage, body: any, res: ServerResponse) => void | Promise<void>;

interface Fake {
  url: string;
  requests: Array<{ path: string; body: any; headers: IncomingMessage['headers'] }>;
  closed: Promise<void>[];
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A local server that records requests and answers with the given handlers, one per request in turn (last repeats). */
async function fakeServer(...handlers: Handler[]): Promise<Fake> {
  const fake: Fake = { url: '', requests: [], closed: [] };
  let n = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text ? JSON.parse(text) : undefined;
    fake.requests.push({ path: req.url ?? '', body, headers: req.headers });
    fake.closed.push(new Promise((r) => res.on('close', () => r())));
    const handler = handlers[Math.min(n++, handlers.length - 1)];
    await handler(req, body, res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return fake;
}

/** Writes the given raw SSE text in pieces of `piece` bytes, to exercise framing across chunks. */
function sseRaw(raw: string, piece = 7): Handler {
  return async (_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const bytes = Buffer.from(raw, 'utf8');
    for (let i = 0; i < bytes.length; i += piece) {
      res.write(bytes.subarray(i, i + piece));
      await new Promise((r) => setImmediate(r));
    }
    res.end();
  };
}

function chunk(delta: object, extra: object = {}): string {
  return JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null, ...extra }] });
}

async function collect(it: AsyncIterable<ModelEvent>): Promise<ModelEvent[]> {
  const out: ModelEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

const fastRetry = { baseDelayMs: 5, maxDelayMs: 50 };

describe('parseSse', () => {
  it('parses every framing the spec allows, split at every byte position', async () => {
    const raw = '\uFEFF: comment\r\nevent: x\r\ndata: a\r\ndata:b\r\n\r\ndata: é€\n\nid: 7\rdata: c\r\rdata: [DONE]\n\n';
    const bytes = Buffer.from(raw, 'utf8');
    for (let cut = 1; cut < bytes.length; cut++) {
      async function* pieces() {
        yield bytes.subarray(0, cut);
        yield bytes.subarray(cut);
      }
      const events = [];
      for await (const e of parseSse(pieces())) events.push(e);
      expect(events, `cut at ${cut}`).toEqual([
        { event: 'x', data: 'a\nb', id: undefined },
        { event: 'message', data: 'é€', id: undefined },
        { event: 'message', data: 'c', id: '7' },
        { event: 'message', data: '[DONE]', id: '7' },
      ]);
    }
  });
});

describe('OpenAICompatibleModel streaming', () => {
  it('turns SSE chunks into text deltas, usage and finish, and sends the request in OpenAI form', async () => {
    const raw =
      `: keep-alive\n\n` +
      `data: ${chunk({ role: 'assistant', content: '' })}\r\n\r\n` +
      `data: ${chunk({ content: 'Hel' })}\n\n` +
      `data: ${chunk({ content: 'lo ✓' })}\n\n` +
      `data: ${chunk({}, { finish_reason: 'stop' })}\n\n` +
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 } })}\n\n` +
      `data: [DONE]\n\n`;
    const fake = await fakeServer(sseRaw(raw, 5));
    const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'llama', apiKey: 'k1' });
    const events = await collect(model.stream({ messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }], sampling: { maxTokens: 9, topK: 4 } }));
    expect(events).toEqual([
      { type: 'text-delta', text: 'Hel' },
      { type: 'text-delta', text: 'lo ✓' },
      { type: 'finish', reason: 'stop', usage: { inputTokens: 12, outputTokens: 3 } },
    ]);
    const req = fake.requests[0];
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe('Bearer k1');
    expect(req.body).toMatchObject({
      model: 'llama',
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 9,
      top_k: 4,
      temperature: 0,
      messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }],
    });
  });

  it('assembles interleaved streamed tool-call deltas and sends tools in OpenAI format', async () => {
    const raw = [
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_wea', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { name: 'ther', arguments: '{"ci' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'lookup', arguments: '{"q":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Oslo"}' } }] }),
      chunk({ tool_calls: [{ index: 1, function: { arguments: '"x"}' } }] }),
      chunk({ tool_calls: [{ index: 2, id: 'call_c', function: { name: 'broken', arguments: '{"a":' } }] }),
      chunk({}, { finish_reason: 'tool_calls' }),
    ]
      .map((d) => `data: ${d}\n\n`)
      .join('') + 'data: [DONE]\n\n';
    const fake = await fakeServer(sseRaw(raw, 11));
    const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'llama' });
    const tools = [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    const events = await collect(model.stream({ messages: [{ role: 'user', content: 'weather?' }], tools }));
    expect(events.slice(0, 2)).toEqual([
      { type: 'tool-call', call: { id: 'call_a', name: 'get_weather', arguments: { city: 'Oslo' } } },
      { type: 'tool-call', call: { id: 'call_b', name: 'lookup', arguments: { q: 'x' } } },
    ]);
    expect(events[2]).toMatchObject({ type: 'tool-call-error', raw: '{"a":' });
    expect(events[3]).toMatchObject({ type: 'finish', reason: 'tool-calls' });
    expect(fake.requests[0].body.tools).toEqual([{ type: 'function', function: tools[0] }]);
  });

  it('maps logprobs and top_logprobs to token events', async () => {
    const lp = { content: [{ token: 'safe', logprob: -0.1, top_logprobs: [{ token: 'safe', logprob: -0.1 }, { token: 'unsafe', logprob: -2.4 }] }] };
    const raw = `data: ${chunk({ content: 'safe' }, { logprobs: lp })}\n\ndata: ${chunk({}, { finish_reason: 'stop' })}\n\ndata: [DONE]\n\n`;
    const fake = await fakeServer(sseRaw(raw));
    const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'guard' });
    const events = await collect(model.stream({ messages: [{ role: 'user', content: 'x' }], topLogprobs: 2 }));
    expect(events[0]).toEqual({
      type: 'token',
      token: { token: 'safe', logprob: -0.1 },
      top: [{ token: 'safe', logprob: -0.1 }, { token: 'unsafe', logprob: -2.4 }],
    });
    expect(fake.requests[0].body).toMatchObject({ logprobs: true, top_logprobs: 2 });
  });

  it('sends images as data URLs from bytes and paths, and http URLs unchanged; replays tool turns', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const dir = await mkdtemp(path.join(tmpdir(), 'served-'));
    const file = path.join(dir, 'x.jpg');
    await writeFile(file, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2]));
    const fake = await fakeServer(sseRaw(`data: ${chunk({}, { finish_reason: 'stop' })}\n\ndata: [DONE]\n\n`));
    const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'v' });
    await collect(
      model.stream({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', image: new Uint8Array(png) },
              { type: 'image', image: file },
              { type: 'image', image: 'https://example.com/a.png' },
              { type: 'text', text: 'what?' },
            ],
          },
          { role: 'assistant', content: '', toolCalls: [{ id: 't1', name: 'zoom', arguments: { x: 1 } }] },
          { role: 'tool', toolCallId: 't1', name: 'zoom', content: 'done' },
        ],
      }),
    );
    const [user, assistant, tool] = fake.requests[0].body.messages;
    expect(user.content[0].image_url.url).toBe(`data:image/png;base64,${png.toString('base64')}`);
    expect(user.content[1].image_url.url).toMatch(/^data:image\/jpeg;base64,/);
    expect(user.content[2].image_url.url).toBe('https://example.com/a.png');
    expect(user.content[3]).toEqual({ type: 'text', text: 'what?' });
    expect(assistant.tool_calls).toEqual([{ id: 't1', type: 'function', function: { name: 'zoom', arguments: '{"x":1}' } }]);
    expect(tool).toMatchObject({ role: 'tool', tool_call_id: 't1', content: 'done' });
  });

  it('refuses an unreadable image path with a typed error before sending anything', async () => {
    const fake = await fakeServer(sseRaw(''));
    const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'v' });
    await expect(collect(model.stream({ messages: [{ role: 'user', content: [{ type: 'image', image: '/no/such.png' }] }] }))).rejects.toMatchObject({
      code: 'served.bad_request',
    });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('OpenAICompatibleModel errors and retries', () => {
  it('retries 429 honouring Retry-After, then succeeds', async () => {
    const fake = await fakeServer(
      (_q, _b, res) => {
        res.writeHead(429, { 'retry-after': '0' });
        res.end('slow down');
      },
      (_q, _b, res) => {
        res.writeHead(503);
        res.end('warming up');
      },
      sseRaw(`data: ${chunk({ content: 'ok' })}\n\ndata: [DONE]\n\n`),
    );
    const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'm', retry: fastRetry });
    const events = await collect(model.stream({ messages: [{ role: 'user', content: 'x' }] }));
    expect(events[0]).toEqual({ type: 'text-delta', text: 'ok' });
    expect(fake.requests).toHaveLength(3);
  });

  it('gives up after maxRetries with ServedHttpError carrying status and body excerpt', async () => {
    const fake = await fakeServer((_q, _b, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'CUDA out of memory' } }));
    });
    const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'm', retry: { ...fastRetry, maxRetries: 2 } });
    const err = await collect(model.stream({ messages: [{ role: 'user', content: 'x' }] })).catch((e) => e);
    expect(err).toBeInstanceOf(ServedHttpError);
    expect(err).toMatchObject({ code: 'served.http_500', status: 500, retried: 2 });
    expect(err.bodyExcerpt).toContain('CUDA out of memory');
    expect(fake.requests).toHaveLength(3);
  });

  it('does not retry a 400', async () => {
    const fake = await fakeServer((_q, _b, res) => {
      res.writeHead(400);
      res.end('max_tokens must be positive');
    });
    const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'm', retry: fastRetry });
    await expect(collect(model.stream({ messages: [{ role: 'user', content: 'x' }] }))).rejects.toMatchObject({
      code: 'served.http_400',
      bodyExcerpt: 'max_tokens must be positive',
    });
    expect(fake.requests).toHaveLength(1);
  });

  it('does not retry a 500 whose body says the input is unsupported or invalid; retries other 500s', async () => {
    const refusals = [
      // llama-server without a vision projector
      { error: { code: 500, message: 'image input is not supported - hint: if this is unexpected, you may need to provide the mmproj', type: 'server_error' } },
      // llama-server, a content part it does not know
      { error: { code: 500, message: 'unsupported content[].type', type: 'server_error' } },
      // vLLM: the request's own error type in a 500
      { object: 'error', message: 'Expected 1 image, got 2', type: 'BadRequestError', param: null, code: 400 },
      // Ollama, a text-only model given an image
      { error: { message: 'this model is missing data required for image input', type: 'api_error' } },
    ];
    for (const body of refusals) {
      const fake = await fakeServer((_q, _b, res) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
      const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'm', retry: { ...fastRetry, maxRetries: 3 } });
      const err = await collect(model.stream({ messages: [{ role: 'user', content: 'x' }] })).catch((e) => e);
      expect(err).toBeInstanceOf(ServedHttpError);
      expect(err).toMatchObject({ status: 500, retried: 0, inputRejected: true });
      expect(fake.requests).toHaveLength(1);
    }
    // Transient failures are still retried: an out-of-memory 500, a bare 500, a 503.
    for (const [status, body] of [
      [500, JSON.stringify({ error: { code: 500, message: 'CUDA error: out of memory', type: 'server_error' } })],
      [500, 'Internal Server Error'],
      [503, JSON.stringify({ error: { message: 'Loading model', type: 'unavailable_error', code: 503 } })],
    ] as const) {
      const fake = await fakeServer((_q, _b, res) => {
        res.writeHead(status);
        res.end(body);
      });
      const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'm', retry: { ...fastRetry, maxRetries: 2 } });
      const err = await collect(model.stream({ messages: [{ role: 'user', content: 'x' }] })).catch((e) => e);
      expect(err).toMatchObject({ status, retried: 2, inputRejected: false });
      expect(fake.requests).toHaveLength(3);
    }
  });

  it('times out waiting for headers and when the stream goes quiet', async () => {
    const silent = await fakeServer(() => undefined);
    const m1 = new OpenAICompatibleModel({ baseUrl: silent.url, model: 'm', timeoutMs: 100 });
    const e1 = await collect(m1.stream({ messages: [{ role: 'user', content: 'x' }] })).catch((e) => e);
    expect(e1).toBeInstanceOf(ServedTimeoutError);
    expect(e1.phase).toBe('response');

    const stalls = await fakeServer((_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${chunk({ content: 'a' })}\n\n`);
    });
    const m2 = new OpenAICompatibleModel({ baseUrl: stalls.url, model: 'm', idleTimeoutMs: 150 });
    const seen: ModelEvent[] = [];
    const e2 = await (async () => {
      for await (const e of m2.stream({ messages: [{ role: 'user', content: 'x' }] })) seen.push(e);
    })().catch((e) => e);
    expect(seen).toEqual([{ type: 'text-delta', text: 'a' }]);
    expect(e2).toBeInstanceOf(ServedTimeoutError);
    expect(e2.phase).toBe('stream');
  });

  it('aborts mid-stream through the AbortSignal and closes the connection', async () => {
    const fake = await fakeServer((_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const timer = setInterval(() => res.write(`data: ${chunk({ content: 'x' })}\n\n`), 10);
      res.on('close', () => clearInterval(timer));
    });
    const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'm' });
    const controller = new AbortController();
    let n = 0;
    const err = await (async () => {
      for await (const e of model.stream({ messages: [{ role: 'user', content: 'x' }] }, { signal: controller.signal })) {
        if (e.type === 'text-delta' && ++n === 3) controller.abort();
      }
    })().catch((e) => e);
    expect(err).toBeInstanceOf(ServedAbortError);
    expect(err.code).toBe('served.aborted');
    await fake.closed[0];
  });

  it('reports a mid-stream error object as a typed error', async () => {
    const fake = await fakeServer(sseRaw(`data: ${chunk({ content: 'a' })}\n\ndata: {"error":{"message":"engine died"}}\n\n`));
    const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'm' });
    await expect(collect(model.stream({ messages: [{ role: 'user', content: 'x' }] }))).rejects.toMatchObject({
      code: 'served.stream_error',
      message: expect.stringContaining('engine died'),
    });
  });

  it('reports a refused connection after retrying', async () => {
    const fake = await fakeServer(sseRaw(''));
    servers[0].close();
    servers.splice(0);
    const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'm', retry: { ...fastRetry, maxRetries: 1 } });
    await expect(collect(model.stream({ messages: [{ role: 'user', content: 'x' }] }))).rejects.toMatchObject({ code: 'served.connection' });
  });

  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('OpenAICompatibleModel raw prompts and JSON mode', () => {
  it('sends raw prompts to /v1/completions and maps completion logprobs', async () => {
    const c = (text: string, extra: object = {}) =>
      JSON.stringify({ id: 'x', object: 'text_completion', created: 1, model: 'g', choices: [{ index: 0, text, finish_reason: null, ...extra }] });
    const raw =
      `data: ${c('\n\nsafe', { logprobs: { tokens: ['\n\n', 'safe'], token_logprobs: [-0.01, -0.2], top_logprobs: [{ '\n\n': -0.01 }, { safe: -0.2, unsafe: -1.7 }] } })}\n\n` +
      `data: ${c('', { finish_reason: 'length' })}\n\ndata: [DONE]\n\n`;
    const fake = await fakeServer(sseRaw(raw));
    const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'g' });
    const events = await collect(
      model.stream({ prompt: [{ type: 'template', text: '<|begin_of_text|>[' }, { type: 'content', text: 'hi' }, { type: 'template', text: ']' }], topLogprobs: 2 }),
    );
    expect(fake.requests[0].path).toBe('/v1/completions');
    expect(fake.requests[0].body).toMatchObject({ prompt: '<|begin_of_text|>[hi]', logprobs: 2 });
    expect(events[1]).toEqual({ type: 'token', token: { token: 'safe', logprob: -0.2 }, top: [{ token: 'safe', logprob: -0.2 }, { token: 'unsafe', logprob: -1.7 }] });
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'length' });
  });

  it("maps llama-server's completion logprobs (the chat form, with token ids)", async () => {
    const c = (text: string, extra: object = {}) =>
      JSON.stringify({ id: 'x', object: 'text_completion', created: 1, model: 'g', choices: [{ index: 0, text, finish_reason: null, ...extra }] });
    const lp = { content: [{ id: 19193, token: 'safe', logprob: -0.2, bytes: [115, 97, 102, 101], top_logprobs: [{ id: 19193, token: 'safe', logprob: -0.2 }, { id: 39257, token: 'unsafe', logprob: -1.7 }] }] };
    const raw = `data: ${c('safe', { logprobs: lp })}\n\ndata: ${c('', { finish_reason: 'stop' })}\n\ndata: [DONE]\n\n`;
    const fake = await fakeServer(sseRaw(raw));
    const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'g' });
    const events = await collect(model.stream({ prompt: [{ type: 'template', text: '<|begin_of_text|>' }, { type: 'content', text: 'hi' }], topLogprobs: 2 }));
    expect(events.find((e) => e.type === 'token')).toEqual({
      type: 'token',
      token: { token: 'safe', id: 19193, logprob: -0.2 },
      top: [{ token: 'safe', id: 19193, logprob: -0.2 }, { token: 'unsafe', id: 39257, logprob: -1.7 }],
    });
  });

  it('leaves the leading BOS of a template segment out for an engine that adds its own (engineAddsBos)', async () => {
    const done = JSON.stringify({ id: 'x', object: 'text_completion', created: 1, model: 'g', choices: [{ index: 0, text: '', finish_reason: 'stop' }] });
    const fake = await fakeServer(sseRaw(`data: ${done}\n\ndata: [DONE]\n\n`));
    const prompt = (first: 'template' | 'content') => [{ type: first, text: '<|begin_of_text|>[' } as const, { type: 'content', text: 'hi' } as const];
    await collect(new OpenAICompatibleModel({ baseUrl: fake.url, model: 'g', engineAddsBos: true }).stream({ prompt: prompt('template') }));
    // Only the application's template text is trimmed; a content segment is untrusted text (escaped, never trimmed).
    await collect(new OpenAICompatibleModel({ baseUrl: fake.url, model: 'g', engineAddsBos: true }).stream({ prompt: prompt('content') }));
    await collect(new OpenAICompatibleModel({ baseUrl: fake.url, model: 'g' }).stream({ prompt: prompt('template') }));
    expect(fake.requests.map((r) => r.body.prompt)).toEqual(['[hi', '<\u200b|begin_of_text|>[hi', '<|begin_of_text|>[hi']);
  });

  it('refuses image segments in a raw prompt', async () => {
    const model = new OpenAICompatibleModel({ baseUrl: 'http://127.0.0.1:9/v1', model: 'g' });
    await expect(collect(model.stream({ prompt: [{ type: 'image', image: new Uint8Array([1]) }] }))).rejects.toBeInstanceOf(ServedRequestError);
  });

  it('reads non-streamed JSON answers with tool calls and usage', async () => {
    const fake = await fakeServer((_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          created: 1,
          model: 'm',
          choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'c9', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, finish_reason: 'tool_calls' }],
          usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
        }),
      );
    });
    const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'm', stream: false });
    const events = await collect(model.stream({ messages: [{ role: 'user', content: 'x' }] }));
    expect(fake.requests[0].body.stream).toBeUndefined();
    expect(events).toEqual([
      { type: 'tool-call', call: { id: 'c9', name: 'f', arguments: { a: 1 } } },
      { type: 'finish', reason: 'tool-calls', usage: { inputTokens: 5, outputTokens: 2 } },
    ]);
  });
});

describe('OpenAICompatibleModel telemetry', () => {
  it('records a span per call with GenAI attributes and usage', async () => {
    const fake = await fakeServer(
      sseRaw(`data: ${chunk({ content: 'a' }, { finish_reason: 'stop' })}\n\ndata: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 1 } })}\n\ndata: [DONE]\n\n`),
    );
    const spans: Array<{ name: string; attrs: Record<string, unknown>; ended: boolean; status?: unknown }> = [];
    const tracer = {
      startSpan(name: string, opts: { attributes?: Record<string, unknown> }) {
        const rec = { name, attrs: { ...opts.attributes }, ended: false, status: undefined as unknown };
        spans.push(rec);
        const span = {
          setAttribute: (k: string, v: unknown) => ((rec.attrs[k] = v), span),
          setAttributes: (a: Record<string, unknown>) => (Object.assign(rec.attrs, a), span),
          setStatus: (s: unknown) => ((rec.status = s), span),
          recordException: () => undefined,
          addEvent: () => span,
          end: () => void (rec.ended = true),
        };
        return span;
      },
    };
    const model = new OpenAICompatibleModel({ baseUrl: fake.url, model: 'm', tracer: tracer as never });
    await collect(model.stream({ messages: [{ role: 'user', content: 'x' }] }));
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({
      name: 'chat m',
      ended: true,
      attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'm', 'gen_ai.usage.input_tokens': 4, 'gen_ai.usage.output_tokens': 1 },
    });
  });
});

describe('listServedModels', () => {
  it('reads GET /models and reports a non-list answer as a protocol error', async () => {
    const fake = await fakeServer(
      (_q, _b, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'llama-vision', object: 'model' }, { id: 'llama-guard', object: 'model' }] }));
      },
      (_q, _b, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>login</html>');
      },
    );
    expect(await listServedModels(fake.url, { apiKey: 'k' })).toEqual(['llama-vision', 'llama-guard']);
    expect(fake.requests[0]).toMatchObject({ path: '/v1/models', headers: { authorization: 'Bearer k' } });
    await expect(listServedModels(fake.url)).rejects.toMatchObject({ code: 'served.protocol' });
  });
});
