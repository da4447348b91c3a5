// The `openai` package (chat.completions, its stream and parse helpers, models) against
// `lookout serve`: a scripted model for exact answers, the tiny in-process model for structured
// output that only the constrained decoder can make valid.
import OpenAI, { APIError, APIUserAbortError, AuthenticationError, BadRequestError, NotFoundError } from 'openai';
import { zodFunction, zodResponseFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { callTool, say } from '@lookout/core/testing';
import {
  API_KEY,
  PNG_BYTES,
  PNG_DATA_URL,
  SCRIPTED,
  TINY,
  afterToolResult,
  closeServers,
  finish,
  lastText,
  plainAnswer,
  startScripted,
  startTiny,
  userImages,
  type ScriptedServer,
  type TinyServer,
} from './fixtures.js';

const Ticket = z.object({
  category: z.enum(['damaged_item', 'late_delivery', 'refund']),
  summary: z.string(),
  items: z.array(z.object({ sku: z.string(), quantity: z.number().int() })),
  urgent: z.boolean(),
});
const TICKET: z.infer<typeof Ticket> = { category: 'damaged_item', summary: 'Mug arrived broken', items: [{ sku: 'MUG-1', quantity: 2 }], urgent: true };

const LookupOrder = z.object({ order_id: z.string(), include_items: z.boolean() });
const Refund = z.object({ order_id: z.string(), amount: z.number(), reason: z.enum(['damaged', 'late', 'other']) });
const tools = [
  zodFunction({ name: 'lookup_order', description: 'Find an order', parameters: LookupOrder }),
  zodFunction({ name: 'refund', description: 'Refund an order', parameters: Refund }),
];

let scripted: ScriptedServer;
let tiny: TinyServer;
let client: OpenAI;
let tinyClient: OpenAI;

beforeAll(async () => {
  scripted = await startScripted((request) => {
    const format = request.responseFormat?.type;
    const choice = request.toolChoice;
    if (afterToolResult(request)) {
      const result = request.messages!.at(-1)!;
      return [...say(`Order A-17 is ${JSON.parse((result as { content: string }).content).status}.`), finish()];
    }
    if (choice === 'required') return [callTool('lookup_order', { order_id: 'A-17', include_items: true }, 'call_lookup'), finish({ inputTokens: 40, outputTokens: 12 })];
    if (typeof choice === 'object') return [callTool(choice.name, { order_id: 'A-17', amount: 12.5, reason: 'damaged' }, 'call_named'), finish({ inputTokens: 40, outputTokens: 14 })];
    if (format === 'json_schema') return [...say(JSON.stringify(TICKET), { chunk: 7 }), finish()];
    if (format === 'json_object') return [...say('{"ok": true, "n": 3}'), finish()];
    if (lastText(request) === 'slow') return say('one two three four five six seven eight', { chunk: 4, delayMs: 40 });
    if (lastText(request) === 'fail midway') return [...say('partial '), { type: 'error', error: 'the engine crashed' }];
    return plainAnswer(request, 5);
  });
  client = new OpenAI({ baseURL: scripted.baseURL, apiKey: API_KEY, maxRetries: 0 });
  tiny = await startTiny();
  tinyClient = new OpenAI({ baseURL: tiny.baseURL, apiKey: API_KEY, maxRetries: 0 });
}, 120_000);

afterAll(() => closeServers(scripted, tiny));

const user = (content: string): OpenAI.Chat.Completions.ChatCompletionMessageParam[] => [{ role: 'user', content }];

describe('openai: chat.completions against the scripted model', () => {
  it('create: text, finish_reason, usage, id and model', async () => {
    const reply = await client.chat.completions.create({ model: SCRIPTED, messages: [{ role: 'system', content: 'Be brief.' }, ...user('hi')], max_completion_tokens: 50 });
    expect(reply.object).toBe('chat.completion');
    expect(reply.id).toMatch(/^chatcmpl-/);
    expect(reply.model).toBe(SCRIPTED);
    expect(reply.choices).toHaveLength(1);
    expect(reply.choices[0].message).toMatchObject({ role: 'assistant', content: 'Hello from Lookout.' });
    expect(reply.choices[0].finish_reason).toBe('stop');
    expect(reply.usage).toMatchObject({ prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 });
    const seen = scripted.model.requests.at(-1)!;
    expect(seen.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi' },
    ]);
    expect(seen.sampling?.maxTokens).toBe(50);
  });

  it('stream with stream_options.include_usage: deltas, finish_reason and one usage chunk', async () => {
    const stream = await client.chat.completions.create({ model: SCRIPTED, messages: user('hi'), stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello from Lookout.');
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0].finish_reason)).toEqual(['stop']);
    const withUsage = chunks.filter((c) => c.usage);
    expect(withUsage).toHaveLength(1);
    expect(withUsage[0].choices).toEqual([]);
    expect(withUsage[0].usage).toMatchObject({ prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);

    const plain = await client.chat.completions.create({ model: SCRIPTED, messages: user('hi'), stream: true });
    let usageChunks = 0;
    for await (const chunk of plain) if (chunk.usage) usageChunks++;
    expect(usageChunks).toBe(0);
  });

  it('tools with tool_choice "required": a call with JSON arguments, streamed and not', async () => {
    const reply = await client.chat.completions.create({ model: SCRIPTED, messages: user('where is my order?'), tools, tool_choice: 'required' });
    const choice = reply.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toHaveLength(1);
    const call = choice.message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(call).toMatchObject({ id: 'call_lookup', type: 'function', function: { name: 'lookup_order' } });
    expect(JSON.parse(call.function.arguments)).toEqual({ order_id: 'A-17', include_items: true });
    expect(reply.usage).toMatchObject({ prompt_tokens: 40, completion_tokens: 12 });
    const seen = scripted.model.requests.at(-1)!;
    expect(seen.toolChoice).toBe('required');
    expect(seen.tools?.map((t) => t.name)).toEqual(['lookup_order', 'refund']);
    expect(seen.tools?.[1].parameters).toMatchObject({ type: 'object', required: ['order_id', 'amount', 'reason'] });

    // The stream helper accumulates tool-call deltas by index into a whole message.
    const runner = client.chat.completions.stream({ model: SCRIPTED, messages: user('where is my order?'), tools, tool_choice: 'required', stream_options: { include_usage: true } });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0].finish_reason).toBe('tool_calls');
    expect(final.choices[0].message.tool_calls?.[0]).toMatchObject({ id: 'call_lookup', function: { name: 'lookup_order', arguments: '{"order_id":"A-17","include_items":true}' } });
    expect(final.usage).toMatchObject({ prompt_tokens: 40, completion_tokens: 12, total_tokens: 52 });
  });

  it('a named tool_choice with strict zod tools: parse() validates the arguments', async () => {
    const reply = await client.chat.completions.parse({ model: SCRIPTED, messages: user('refund it'), tools, tool_choice: { type: 'function', function: { name: 'refund' } } });
    const call = reply.choices[0].message.tool_calls![0];
    expect(call.function.name).toBe('refund');
    expect(call.function.parsed_arguments).toEqual({ order_id: 'A-17', amount: 12.5, reason: 'damaged' });
    expect(scripted.model.requests.at(-1)!.toolChoice).toEqual({ name: 'refund' });
  });

  it('a tool round trip through runTools: the tool result reaches the model and its answer comes back', async () => {
    const runner = client.chat.completions.runTools({
      model: SCRIPTED,
      messages: user('status of A-17?'),
      tool_choice: 'required',
      tools: [
        {
          type: 'function',
          function: {
            name: 'lookup_order',
            description: 'Find an order',
            parameters: { type: 'object', properties: { order_id: { type: 'string' }, include_items: { type: 'boolean' } }, required: ['order_id', 'include_items'] },
            parse: JSON.parse,
            function: (args: { order_id: string }) => ({ order_id: args.order_id, status: 'shipped' }),
          },
        },
      ],
    });
    // runTools keeps tool_choice "required" for one round only, then asks again with "auto".
    expect(await runner.finalContent()).toBe('Order A-17 is shipped.');
    const seen = scripted.model.requests.at(-1)!;
    expect(seen.messages!.slice(1)).toEqual([
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_lookup', name: 'lookup_order', arguments: { order_id: 'A-17', include_items: true } }] },
      { role: 'tool', toolCallId: 'call_lookup', name: 'lookup_order', content: '{"order_id":"A-17","status":"shipped"}' },
    ]);
  });

  it('response_format json_schema (strict) through parse(): message.parsed is the object', async () => {
    const reply = await client.chat.completions.parse({ model: SCRIPTED, messages: user('file a ticket'), response_format: zodResponseFormat(Ticket, 'ticket') });
    expect(reply.choices[0].message.parsed).toEqual(TICKET);
    const format = scripted.model.requests.at(-1)!.responseFormat;
    expect(format).toMatchObject({ type: 'json_schema', name: 'ticket', strict: true, schema: { type: 'object', required: ['category', 'summary', 'items', 'urgent'] } });

    const streamed = await client.chat.completions.stream({ model: SCRIPTED, messages: user('file a ticket'), response_format: zodResponseFormat(Ticket, 'ticket') }).finalChatCompletion();
    expect(streamed.choices[0].message.parsed).toEqual(TICKET);
  });

  it('response_format json_object', async () => {
    const reply = await client.chat.completions.create({ model: SCRIPTED, messages: user('json please'), response_format: { type: 'json_object' } });
    expect(JSON.parse(reply.choices[0].message.content!)).toEqual({ ok: true, n: 3 });
    expect(scripted.model.requests.at(-1)!.responseFormat).toEqual({ type: 'json_object' });
  });

  it('an image_url data URL reaches the model as the image bytes', async () => {
    const reply = await client.chat.completions.create({
      model: SCRIPTED,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: PNG_DATA_URL, detail: 'low' } },
          ],
        },
      ],
    });
    expect(reply.choices[0].message.content).toBe(`I see 1 image of ${PNG_BYTES.length} bytes.`);
    const parts = scripted.model.requests.at(-1)!.messages![0].content as Array<{ type: string; image?: Uint8Array; mediaType?: string; text?: string }>;
    expect(parts[0]).toEqual({ type: 'text', text: 'What is this?' });
    expect(parts[1].mediaType).toBe('image/png');
    expect(Buffer.from(parts[1].image!).equals(Buffer.from(PNG_BYTES))).toBe(true);
  });

  it('aborting a stream (break, or an AbortSignal) cancels the generation on the server', async () => {
    const before = scripted.model.aborted;
    const stream = await client.chat.completions.create({ model: SCRIPTED, messages: user('slow'), stream: true });
    let received = '';
    for await (const chunk of stream) {
      received += chunk.choices[0]?.delta.content ?? '';
      if (received) break;
    }
    expect(received).toBe('one ');
    await expect.poll(() => scripted.model.aborted, { timeout: 5000 }).toBe(before + 1);

    const controller = new AbortController();
    const second = await client.chat.completions.create({ model: SCRIPTED, messages: user('slow'), stream: true }, { signal: controller.signal });
    // The client ends the iteration quietly once its own signal aborts a stream under way.
    let text = '';
    for await (const chunk of second) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (text) controller.abort();
    }
    expect(text).toBe('one ');
    // A signal that aborts before the response arrives rejects the call itself.
    const early = await client.chat.completions.create({ model: SCRIPTED, messages: user('slow'), stream: true }, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(APIUserAbortError);
    await expect.poll(() => scripted.model.aborted, { timeout: 5000 }).toBe(before + 2);
    const health = await fetch(scripted.baseURL.replace(/\/v1$/, '/health'));
    expect(await health.json()).toMatchObject({ active: 0, queued: 0 });
  });

  it('bad input: 400 BadRequestError with OpenAI error fields, streamed or not; 404 and 401 as their classes', async () => {
    const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);
    const tooHot = await failure(client.chat.completions.create({ model: SCRIPTED, messages: user('hi'), temperature: 9 }));
    expect(tooHot).toBeInstanceOf(BadRequestError);
    expect(tooHot).toMatchObject({ status: 400, type: 'invalid_request_error', code: 'invalid_request', param: 'temperature' });
    expect((tooHot as BadRequestError).message).toMatch(/^400 temperature:/);

    const streamed = await failure(client.chat.completions.create({ model: SCRIPTED, messages: user('hi'), tools, tool_choice: { type: 'function', function: { name: 'cancel' } }, stream: true }));
    expect(streamed).toBeInstanceOf(BadRequestError);
    expect(streamed).toMatchObject({ status: 400, param: 'tool_choice' });
    expect((streamed as BadRequestError).message).toContain('tool_choice names "cancel"');

    const remote = await failure(
      client.chat.completions.create({ model: SCRIPTED, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://169.254.169.254/latest' } }] }] }),
    );
    expect(remote).toMatchObject({ status: 400, code: 'image_url_not_allowed' });

    const wrongModel = await failure(client.chat.completions.create({ model: 'gpt-4o', messages: user('hi') }));
    expect(wrongModel).toBeInstanceOf(NotFoundError);
    expect(wrongModel).toMatchObject({ status: 404, code: 'model_not_found' });

    const wrongKey = await failure(new OpenAI({ baseURL: scripted.baseURL, apiKey: 'sk-wrong', maxRetries: 0 }).chat.completions.create({ model: SCRIPTED, messages: user('hi') }));
    expect(wrongKey).toBeInstanceOf(AuthenticationError);
    expect(wrongKey).toMatchObject({ status: 401, type: 'authentication_error', code: 'invalid_api_key' });
  });

  it('a failure after the stream started arrives as an APIError from the iterator', async () => {
    const stream = await client.chat.completions.create({ model: SCRIPTED, messages: user('fail midway'), stream: true });
    let text = '';
    const failure = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(text).toBe('partial ');
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).message).toContain('the engine crashed');
    expect((failure as APIError).type).toBe('server_error');
  });

  it('keep-alive comments during a slow start are skipped by the client', async () => {
    const beating = await startScripted(() => [{ type: 'delay', ms: 300 }, ...say('finally'), finish()], { keepAliveMs: 40 });
    try {
      const raw = await fetch(`${beating.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
        body: JSON.stringify({ model: SCRIPTED, messages: user('late start'), stream: true }),
      });
      expect(await raw.text()).toMatch(/^: keep-alive\n\n/);
      const stream = await new OpenAI({ baseURL: beating.baseURL, apiKey: API_KEY, maxRetries: 0 }).chat.completions.create({ model: SCRIPTED, messages: user('late start'), stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe('finally');
    } finally {
      await beating.close();
    }
  });

  it('models.retrieve and models.list', async () => {
    const model = await client.models.retrieve(SCRIPTED);
    expect(model).toMatchObject({ id: SCRIPTED, object: 'model', owned_by: 'lookout' });
    expect(typeof model.created).toBe('number');
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual([SCRIPTED]);
    const missing = await client.models.retrieve('gpt-4o').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);

    // Hub-style names hold a slash, which the client sends encoded.
    const name = 'meta-llama/Llama-3.2-11B-Vision-Instruct';
    const hub = await startScripted(() => [...say('ok'), finish()], { modelName: name });
    try {
      const hubClient = new OpenAI({ baseURL: hub.baseURL, apiKey: API_KEY, maxRetries: 0 });
      expect(await hubClient.models.retrieve(name)).toMatchObject({ id: name, object: 'model' });
      expect((await hubClient.chat.completions.create({ model: name, messages: user('hi') })).model).toBe(name);
    } finally {
      await hub.close();
    }
  });
});

describe('openai: structured output from the tiny in-process model (random weights, constrained decoding)', () => {
  it('json_schema through parse(): the reply parses and validates with zod, streamed too', async () => {
    const reply = await tinyClient.chat.completions.parse({ model: TINY, messages: user('My mug arrived broken.'), response_format: zodResponseFormat(Ticket, 'ticket'), max_tokens: 120 });
    expect(reply.choices[0].finish_reason).toBe('stop');
    expect(Ticket.parse(reply.choices[0].message.parsed)).toBeTruthy();
    expect(reply.usage!.completion_tokens).toBeGreaterThan(0);

    const streamed = await tinyClient.chat.completions
      .stream({ model: TINY, messages: user('My mug arrived broken.'), response_format: zodResponseFormat(Ticket, 'ticket'), max_tokens: 120, temperature: 1, seed: 3, stream_options: { include_usage: true } })
      .finalChatCompletion();
    expect(Ticket.safeParse(streamed.choices[0].message.parsed).success).toBe(true);
    expect(streamed.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('json_object gives a JSON object', async () => {
    const reply = await tinyClient.chat.completions.create({ model: TINY, messages: user('Reply in JSON.'), response_format: { type: 'json_object' }, max_tokens: 60 });
    const value: unknown = JSON.parse(reply.choices[0].message.content!);
    expect(value !== null && typeof value === 'object' && !Array.isArray(value)).toBe(true);
  });

  it('a named tool_choice gives a call of that tool whose arguments pass the zod schema; "required" a call of one of the tools', async () => {
    const named = await tinyClient.chat.completions.parse({ model: TINY, messages: user('Refund order A-17.'), tools, tool_choice: { type: 'function', function: { name: 'refund' } }, max_tokens: 80 });
    expect(named.choices[0].finish_reason).toBe('tool_calls');
    const call = named.choices[0].message.tool_calls![0];
    expect(call.function.name).toBe('refund');
    expect(Refund.safeParse(call.function.parsed_arguments).success).toBe(true);

    const required = await tinyClient.chat.completions.create({ model: TINY, messages: user('Look up A-17.'), tools, tool_choice: 'required', max_tokens: 80 });
    const any = required.choices[0].message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    const schema = any.function.name === 'refund' ? Refund : LookupOrder;
    expect(['refund', 'lookup_order']).toContain(any.function.name);
    expect(schema.safeParse(JSON.parse(any.function.arguments)).success).toBe(true);
  });

  it('an image goes through the vision path; an image that does not decode is a 400 invalid_image', async () => {
    const content = (url: string): OpenAI.Chat.Completions.ChatCompletionContentPart[] => [
      { type: 'image_url', image_url: { url } },
      { type: 'text', text: 'What is this?' },
    ];
    const reply = await tinyClient.chat.completions.create({ model: TINY, messages: [{ role: 'user', content: content(PNG_DATA_URL) }], max_tokens: 3 });
    expect(reply.usage!.completion_tokens).toBeGreaterThan(0);
    expect(reply.usage!.completion_tokens).toBeLessThanOrEqual(3);
    const broken = await tinyClient.chat.completions
      .create({ model: TINY, messages: [{ role: 'user', content: content(`data:image/png;base64,${Buffer.from('not a png at all').toString('base64')}`) }], stream: true })
      .catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(BadRequestError);
    expect(broken).toMatchObject({ status: 400, code: 'invalid_image' });
  });
});
