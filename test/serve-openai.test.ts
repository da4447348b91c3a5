import { afterEach, describe, expect, it } from 'vitest';
import { OpenAICompatibleModel, ServedAbortError, ServedHttpError, type ModelEvent } from '@lookout/runtime';
import { LookoutServer, type LookoutServerOptions } from '@lookout/core/serve';
import { RecordingModel, collect, textEvents, type Script } from './serve-fixtures.js';

const running: LookoutServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function start(script: Script, options: Partial<LookoutServerOptions> = {}, caps = {}) {
  const model = new RecordingModel(script, caps);
  const server = new LookoutServer({ model, modelName: 'llama-vision', ...options });
  running.push(server);
  const url = await server.listen(0);
  const client = (o: Partial<ConstructorParameters<typeof OpenAICompatibleModel>[0]> = {}) =>
    new OpenAICompatibleModel({ baseUrl: url, model: 'llama-vision', retry: { baseDelayMs: 5, maxDelayMs: 50 }, ...o });
  return { model, server, url, client };
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

const png = new Uint8Array(Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex'));

describe('lookout serve ↔ OpenAICompatibleModel over loopback', () => {
  it('streams text, log-probabilities and usage, and hands the model the request intact', async () => {
    const { model, client } = await start(() => [
      { type: 'token', token: { token: 'It', logprob: -0.5 }, top: [{ token: 'It', logprob: -0.5 }, { token: 'A', logprob: -1.2 }] },
      ...textEvents('It is a cat.', { inputTokens: 30, outputTokens: 4, cachedInputTokens: 24 }),
    ]);
    const tools = [{ name: 'zoom', description: 'Zoom in', parameters: { type: 'object', properties: { factor: { type: 'number' } }, required: ['factor'] } }];
    const events = await collect(
      client().stream({
        messages: [
          { role: 'system', content: 'Describe images.' },
          { role: 'user', content: [{ type: 'image', image: png }, { type: 'text', text: 'What is this?' }] },
        ],
        tools,
        topLogprobs: 2,
        sampling: { maxTokens: 64, temperature: 0.7, topP: 0.9, topK: 40, seed: 3, stop: ['\n\n'] },
      }),
    );
    expect(events).toEqual([
      { type: 'token', token: { token: 'It', logprob: -0.5 }, top: [{ token: 'It', logprob: -0.5 }, { token: 'A', logprob: -1.2 }] },
      { type: 'text-delta', text: 'It ' },
      { type: 'text-delta', text: 'is ' },
      { type: 'text-delta', text: 'a ' },
      { type: 'text-delta', text: 'cat.' },
      // Cached prompt tokens travel as OpenAI's usage.prompt_tokens_details.cached_tokens.
      { type: 'finish', reason: 'stop', usage: { inputTokens: 30, outputTokens: 4, cachedInputTokens: 24 } },
    ]);
    const seen = model.requests[0];
    expect(seen.messages![0]).toEqual({ role: 'system', content: 'Describe images.' });
    const user = seen.messages![1] as { content: Array<{ type: string; image?: Uint8Array; text?: string }> };
    expect(Buffer.from(user.content[0].image!).equals(Buffer.from(png))).toBe(true);
    expect(user.content[1]).toEqual({ type: 'text', text: 'What is this?' });
    expect(seen.tools).toEqual(tools);
    expect(seen.topLogprobs).toBe(2);
    expect(seen.sampling).toEqual({ maxTokens: 64, temperature: 0.7, topP: 0.9, topK: 40, seed: 3, stop: ['\n\n'] });
  });

  it('round-trips tool calls and tool results, streamed and not', async () => {
    const script: Script = (req) =>
      req.messages!.at(-1)!.role === 'tool'
        ? textEvents('Zoomed.')
        : [
            { type: 'tool-call', call: { id: 'call_1', name: 'zoom', arguments: { factor: 2 } } },
            { type: 'finish', reason: 'tool-calls', usage: { inputTokens: 9, outputTokens: 5 } },
          ];
    const { model, client } = await start(script);
    for (const stream of [true, false]) {
      const first = await collect(client({ stream }).stream({ messages: [{ role: 'user', content: 'zoom in' }] }));
      expect(first).toEqual([
        { type: 'tool-call', call: { id: 'call_1', name: 'zoom', arguments: { factor: 2 } } },
        { type: 'finish', reason: 'tool-calls', usage: stream ? { inputTokens: 9, outputTokens: 5 } : { inputTokens: 9, outputTokens: 5 } },
      ]);
      const second = await collect(
        client({ stream }).stream({
          messages: [
            { role: 'user', content: 'zoom in' },
            { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'zoom', arguments: { factor: 2 } }] },
            { role: 'tool', toolCallId: 'call_1', name: 'zoom', content: 'ok' },
          ],
        }),
      );
      expect(second.filter((e) => e.type === 'text-delta').map((e) => (e as { text: string }).text).join('')).toBe('Zoomed.');
      expect(model.requests.at(-1)!.messages!.slice(1)).toEqual([
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'zoom', arguments: { factor: 2 } }] },
        { role: 'tool', toolCallId: 'call_1', name: 'zoom', content: 'ok' },
      ]);
    }
  });

  it('serves raw prompts on /v1/completions with log-probabilities', async () => {
    const { model, client } = await start(() => [
      { type: 'token', token: { token: 'safe', logprob: -0.05 }, top: [{ token: 'safe', logprob: -0.05 }, { token: 'unsafe', logprob: -3 }] },
      ...textEvents('safe'),
    ]);
    for (const stream of [true, false]) {
      const events = await collect(client({ stream }).stream({ prompt: [{ type: 'template', text: '<|begin_of_text|>Task: ' }, { type: 'content', text: 'hello' }], topLogprobs: 1 }));
      expect(events[0]).toEqual({ type: 'token', token: { token: 'safe', logprob: -0.05 }, top: [{ token: 'safe', logprob: -0.05 }, { token: 'unsafe', logprob: -3 }] });
      expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop', usage: { inputTokens: 7, outputTokens: 2 } });
    }
    expect(model.requests[0].prompt).toEqual([{ type: 'template', text: '<|begin_of_text|>Task: hello' }]);
  });

  it('cancels the model when the client aborts', async () => {
    const { model, client } = await start(() => textEvents('one two three four'));
    model.gated = true;
    const controller = new AbortController();
    const done = collect(client().stream({ messages: [{ role: 'user', content: 'x' }] }, { signal: controller.signal })).catch((e) => e);
    await model.parked(1);
    controller.abort();
    expect(await done).toBeInstanceOf(ServedAbortError);
    await expect.poll(() => model.signals[0].aborted).toBe(true);
  });
});

describe('lookout serve request handling', () => {
  it('lists the model and reports health', async () => {
    const { url } = await start(() => textEvents('x'));
    expect(await (await fetch(`${url}/models`)).json()).toMatchObject({ object: 'list', data: [{ id: 'llama-vision', object: 'model' }] });
    expect(await (await fetch(url.replace(/\/v1$/, '/health'))).json()).toEqual({ status: 'ok', model: 'llama-vision', active: 0, queued: 0 });
  });

  it('answers bad requests with 400/404/405/413 and a message naming the problem', async () => {
    const { url, model } = await start(() => textEvents('x'), { maxBodyBytes: 10_000 });
    const cases: Array<[Response, number, string | RegExp]> = [
      [await post(url, '{not json'), 400, /not valid JSON/],
      [await post(url, { model: 'llama-vision', messages: [] }), 400, 'messages: messages must hold at least one message'],
      [await post(url, { model: 'llama-vision', messages: [{ role: 'robot', content: 'x' }] }), 400, /^messages\.0\.role/],
      [await post(url, { model: 'llama-vision', messages: [{ role: 'user', content: 'x' }], temperature: 9 }), 400, /^temperature:/],
      [await post(url, { model: 'llama-vision', messages: [{ role: 'user', content: 'x' }], n: 2 }), 400, /only n = 1/],
      [
        await post(url, { model: 'llama-vision', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'xml' } }),
        400,
        /^response_format\.type: response_format\.type must be "text", "json_object" or "json_schema"/,
      ],
      // This scripted model cannot constrain its output (capabilities without structuredOutput).
      [
        await post(url, { model: 'llama-vision', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_object' } }),
        400,
        /cannot constrain its output/,
      ],
      [await post(url, { model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] }), 404, /serves "llama-vision"/],
      [
        await post(url, { model: 'llama-vision', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://169.254.169.254/x.png' } }] }] }),
        400,
        /does not fetch image URLs/,
      ],
      [await post(url, { model: 'llama-vision', messages: [{ role: 'user', content: 'x'.repeat(20_000) }] }), 413, /exceeds 10000 bytes/],
      [await fetch(`${url}/chat/completions`), 405, /takes POST/],
      [await fetch(`${url}/embeddings`, { method: 'POST' }), 404, /no route/],
    ];
    for (const [res, status, message] of cases) {
      expect(res.status).toBe(status);
      const body = (await res.json()) as { error: { message: string; code: string } };
      if (typeof message === 'string') expect(body.error.message).toBe(message);
      else expect(body.error.message).toMatch(message);
    }
    expect(model.requests).toHaveLength(0);
  });

  it('asks for an API key on /v1 when configured, and leaves /health open', async () => {
    const { url, client } = await start(() => textEvents('hi there'), { apiKeys: ['k-one', 'k-two'] });
    const none = await fetch(`${url}/models`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await none.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
    expect((await fetch(`${url}/models`, { headers: { authorization: 'Bearer k-wrong' } })).status).toBe(401);
    expect((await fetch(`${url}/models`, { headers: { authorization: 'Bearer k-two' } })).status).toBe(200);
    expect((await fetch(url.replace(/\/v1$/, '/health'))).status).toBe(200);
    const denied = await collect(client({ retry: { maxRetries: 0 } }).stream({ messages: [{ role: 'user', content: 'x' }] })).catch((e) => e);
    expect(denied).toMatchObject({ code: 'served.http_401', status: 401 });
    const events = await collect(client({ apiKey: 'k-one' }).stream({ messages: [{ role: 'user', content: 'x' }] }));
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
  });

  it('keeps a slow stream alive with heartbeats so client timeouts do not fire during a long prefill', async () => {
    const slow: LookoutServerOptions['model'] = {
      id: 'slow',
      capabilities: { images: false, tools: false, logprobs: false, rawPrompt: false },
      async *stream() {
        await new Promise((r) => setTimeout(r, 600));
        yield* textEvents('finally here');
      },
    };
    const quiet = new LookoutServer({ model: slow, modelName: 'm', keepAliveMs: 0 });
    const beating = new LookoutServer({ model: slow, modelName: 'm', keepAliveMs: 50 });
    running.push(quiet, beating);
    const impatient = (baseUrl: string) => new OpenAICompatibleModel({ baseUrl, model: 'm', timeoutMs: 250, idleTimeoutMs: 250, retry: { maxRetries: 0 } });
    const timedOut = await collect(impatient(await quiet.listen(0)).stream({ messages: [{ role: 'user', content: 'x' }] })).catch((e) => e);
    expect(timedOut.code).toBe('served.timeout');
    const events = await collect(impatient(await beating.listen(0)).stream({ messages: [{ role: 'user', content: 'x' }] }));
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
  });

  it('refuses what the model cannot do', async () => {
    const { url } = await start(() => textEvents('x'), {}, { images: false });
    const res = await post(url, { model: 'llama-vision', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('images_unsupported');
  });

  it("answers a prompt longer than the model's context with 400 context_length_exceeded", async () => {
    const tooLong = Object.assign(new Error('The prompt has 9000 tokens; this model holds 8192 positions'), { code: 'CONTEXT_EXCEEDED' });
    const { url } = await start(() => {
      throw tooLong;
    });
    const res = await post(url, { model: 'llama-vision', messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string; type: string } };
    expect(body.error).toMatchObject({ code: 'context_length_exceeded', type: 'invalid_request_error' });
    expect(body.error.message).toContain('8192 positions');
  });

  it('turns a model failure into a typed 500 before streaming, and into an error event after', async () => {
    const boom = Object.assign(new Error('session crashed'), { code: 'onnx.run_failed' });
    const { client, url } = await start((_r, call) => {
      if (call === 0) throw boom;
      return textEvents('partial');
    });
    const err = await collect(client({ retry: { maxRetries: 0 } }).stream({ messages: [{ role: 'user', content: 'x' }] })).catch((e) => e);
    expect(err).toBeInstanceOf(ServedHttpError);
    expect(err.status).toBe(500);
    expect(err.bodyExcerpt).toContain('session crashed');
    // After the first chunk the status is already 200: the failure arrives as an SSE error object.
    const failing = new LookoutServer({
      modelName: 'm',
      model: {
        id: 'm',
        capabilities: { images: false, tools: false, logprobs: false, rawPrompt: false },
        async *stream() {
          yield { type: 'text-delta', text: 'a' } as ModelEvent;
          throw boom;
        },
      },
    });
    running.push(failing);
    const furl = await failing.listen(0);
    const seen: ModelEvent[] = [];
    const err2 = await (async () => {
      for await (const e of new OpenAICompatibleModel({ baseUrl: furl, model: 'm' }).stream({ messages: [{ role: 'user', content: 'x' }] })) seen.push(e);
    })().catch((e) => e);
    expect(seen).toEqual([{ type: 'text-delta', text: 'a' }]);
    expect(err2.code).toBe('served.stream_error');
    expect(err2.message).toContain('session crashed');
    expect(url).toBeTruthy();
  });

  it('queues up to maxQueued, then answers 429 with Retry-After; the client retries and succeeds', async () => {
    const { model, client } = await start(() => textEvents('done now'), { maxConcurrent: 1, maxQueued: 1, retryAfterSeconds: 0 });
    model.gated = true;
    const first = collect(client().stream({ messages: [{ role: 'user', content: '1' }] }));
    await model.parked(1);
    const second = collect(client().stream({ messages: [{ role: 'user', content: '2' }] }));
    await expect.poll(async () => ((await (await fetch(`${(running[0] as LookoutServer).url.replace(/\/v1$/, '')}/health`)).json()) as { queued: number }).queued).toBe(1);
    // A third request finds the queue full; with no retries the 429 surfaces.
    const third = await collect(client({ retry: { maxRetries: 0 } }).stream({ messages: [{ role: 'user', content: '3' }] })).catch((e) => e);
    expect(third).toBeInstanceOf(ServedHttpError);
    expect(third.status).toBe(429);
    expect(third.bodyExcerpt).toContain('server is busy');
    // With retries it waits out the back-pressure and gets served once the queue drains.
    const fourth = collect(client({ retry: { maxRetries: 50, baseDelayMs: 20, maxDelayMs: 20 } }).stream({ messages: [{ role: 'user', content: '4' }] }));
    model.gated = false;
    model.release();
    for (const result of await Promise.all([first, second, fourth])) expect(result.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
    expect(model.requests.map((r) => (r.messages![0] as { content: string }).content)).toEqual(['1', '2', '4']);
  });

  it('shuts down gracefully: refuses new work, finishes in-flight streams, then closes', async () => {
    const { model, server, client, url } = await start(() => textEvents('all of it arrives'));
    model.gated = true;
    const inflight = collect(client().stream({ messages: [{ role: 'user', content: 'x' }] }));
    await model.parked(1);
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);
    const refused = await collect(client({ retry: { maxRetries: 0 } }).stream({ messages: [{ role: 'user', content: 'y' }] })).catch((e) => e);
    expect(refused.code).toBe('served.connection');
    model.release();
    const events = await inflight;
    expect(events.filter((e) => e.type === 'text-delta').map((e) => (e as { text: string }).text).join('')).toBe('all of it arrives');
    await closing;
    expect(closed).toBe(true);
    await expect(fetch(`${url}/models`)).rejects.toThrow();
  });
});
