// Structured output through real HTTP with the `openai` client, against `lookout serve` on the
// tiny in-process Mllama (random weights): response_format json_schema gives JSON that ajv
// validates, a named tool_choice a call of that tool with valid arguments, "required" some call;
// unsupported schemas and bad tool choices get OpenAI's 400; GET /v1/models/{id}; assistant
// refusals are accepted; a server started with images off refuses image input with a 400.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxModel, writeTinyCheckpoint } from '@lookout/runtime';
import { LookoutServer } from './index.js';

let dir: string;
let model: OnnxModel;
let server: LookoutServer;
let noImages: LookoutServer;
let client: OpenAI;
let noImagesClient: OpenAI;

const TICKET = {
  type: 'object',
  properties: {
    category: { type: 'string', enum: ['damaged_item', 'late_delivery', 'refund'] },
    summary: { type: 'string' },
    items: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' }, quantity: { type: 'integer' } }, required: ['sku', 'quantity'], additionalProperties: false } },
    customer: { type: ['object', 'null'], properties: { id: { type: 'string' }, vip: { type: 'boolean' } }, required: ['id', 'vip'], additionalProperties: false },
    amount: { type: 'number' },
  },
  required: ['category', 'summary', 'items', 'customer', 'amount'],
  additionalProperties: false,
};

const TOOLS: OpenAI.Chat.Completions.ChatCompletionFunctionTool[] = [
  {
    type: 'function',
    function: {
      name: 'lookup_order',
      description: 'Find an order',
      parameters: { type: 'object', properties: { order_id: { type: 'string' }, include_items: { type: 'boolean' } }, required: ['order_id', 'include_items'], additionalProperties: false },
    },
  },
  {
    type: 'function',
    function: {
      name: 'refund',
      description: 'Refund an order',
      parameters: { type: 'object', properties: { order_id: { type: 'string' }, amount: { type: 'number' }, reason: { type: 'string', enum: ['damaged', 'late', 'other'] } }, required: ['order_id', 'amount', 'reason'], additionalProperties: false },
    },
  },
];

const PNG_1X1 = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'serve-structured-'));
  await writeTinyCheckpoint(dir, { arch: 'mllama', seed: 7 });
  model = await OnnxModel.load(dir);
  server = new LookoutServer({ model, modelName: 'tiny' });
  noImages = new LookoutServer({ model, modelName: 'tiny', images: false });
  client = new OpenAI({ baseURL: await server.listen(0), apiKey: 'unused', maxRetries: 0 });
  noImagesClient = new OpenAI({ baseURL: await noImages.listen(0), apiKey: 'unused', maxRetries: 0 });
}, 180_000);

afterAll(async () => {
  await server?.close();
  await noImages?.close();
  await model?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'My mug arrived broken.' }];

describe('serve: structured output with the openai client', () => {
  it('response_format json_schema gives JSON valid against the schema (greedy, sampled, streamed)', async () => {
    const validate = new Ajv().compile(TICKET);
    const response_format = { type: 'json_schema' as const, json_schema: { name: 'ticket', schema: TICKET, strict: true } };
    for (const sampling of [{ temperature: 0 }, { temperature: 1, seed: 1 }, { temperature: 1, seed: 2 }]) {
      const reply = await client.chat.completions.create({ model: 'tiny', messages, response_format, max_tokens: 150, ...sampling });
      const text = reply.choices[0].message.content!;
      expect(validate(JSON.parse(text)), `${text} ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(reply.choices[0].finish_reason).toBe('stop');
    }
    const stream = await client.chat.completions.create({ model: 'tiny', messages, response_format, max_tokens: 150, temperature: 1, seed: 3, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(validate(JSON.parse(text)), text).toBe(true);
  }, 120_000);

  it('response_format json_object gives a JSON object', async () => {
    const reply = await client.chat.completions.create({ model: 'tiny', messages, response_format: { type: 'json_object' }, max_tokens: 60, temperature: 1, seed: 4 });
    const value = JSON.parse(reply.choices[0].message.content!);
    expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
  }, 60_000);

  it('a named tool_choice gives a call of that tool with valid arguments', async () => {
    const validate = new Ajv().compile(TOOLS[1].function.parameters!);
    for (const seed of [1, 2]) {
      const reply = await client.chat.completions.create({ model: 'tiny', messages, tools: TOOLS, tool_choice: { type: 'function', function: { name: 'refund' } }, max_tokens: 80, temperature: 1, seed });
      const choice = reply.choices[0];
      expect(choice.finish_reason).toBe('tool_calls');
      const calls = choice.message.tool_calls!;
      expect(calls).toHaveLength(1);
      const call = calls[0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
      expect(call.function.name).toBe('refund');
      expect(validate(JSON.parse(call.function.arguments)), call.function.arguments).toBe(true);
    }
  }, 60_000);

  it('a forced call cut by max_tokens is a tool call with the arguments so far and finish_reason "length", streamed or not', async () => {
    // 24 tokens hold the call's opening and part of its arguments (greedy: the same cut every run).
    const request = { model: 'tiny', messages, tools: TOOLS, tool_choice: { type: 'function' as const, function: { name: 'refund' } }, max_tokens: 24, temperature: 0 };
    const reply = await client.chat.completions.create(request);
    const choice = reply.choices[0];
    expect(choice.finish_reason).toBe('length');
    // Not the model's own `{"name": ..., "parameters": ...` syntax in the content.
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe('refund');
    expect(call.id).toMatch(/^call_/);
    expect(call.function.arguments).toMatch(/^\{"/);
    expect(() => JSON.parse(call.function.arguments)).toThrow();

    const stream = await client.chat.completions.create({ ...request, stream: true });
    let args = '';
    let finish: string | null = null;
    let content = '';
    for await (const chunk of stream) {
      for (const tc of chunk.choices[0]?.delta?.tool_calls ?? []) args += tc.function?.arguments ?? '';
      content += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect({ args, content, finish }).toEqual({ args: call.function.arguments, content: '', finish: 'length' });
  }, 60_000);

  it('tool_choice required gives a call of one of the tools', async () => {
    const reply = await client.chat.completions.create({ model: 'tiny', messages, tools: TOOLS, tool_choice: 'required', max_tokens: 80, temperature: 0 });
    const call = reply.choices[0].message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    const tool = TOOLS.find((t) => t.function.name === call.function.name)!;
    expect(new Ajv().compile(tool.function.parameters!)(JSON.parse(call.function.arguments))).toBe(true);
  }, 60_000);

  it('refuses unsupported schemas and impossible tool choices with OpenAI 400s', async () => {
    const bad = async (body: Record<string, unknown>) => {
      const error = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 5, ...body } as never).catch((e) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      return error as InstanceType<typeof OpenAI.BadRequestError>;
    };
    const pattern = await bad({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { type: 'string', pattern: '^a' } } } } } });
    expect(pattern.param).toBe('response_format');
    expect(pattern.message).toMatch(/"pattern"/);
    expect(pattern.message).toMatch(/CONSTRAINT_UNSUPPORTED_SCHEMA/);
    const named = await bad({ tools: TOOLS, tool_choice: { type: 'function', function: { name: 'nope' } } });
    expect(named.param).toBe('tool_choice');
    expect((await bad({ tool_choice: 'required' })).param).toBe('tool_choice');
    expect((await bad({ response_format: { type: 'xml' } })).param).toBe('response_format');
  });

  it('tool_choice none leaves the tools out', async () => {
    const reply = await client.chat.completions.create({ model: 'tiny', messages, tools: TOOLS, tool_choice: 'none', max_tokens: 4, temperature: 0 });
    const plain = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 4, temperature: 0 });
    expect(reply.usage!.prompt_tokens).toBe(plain.usage!.prompt_tokens);
  }, 60_000);

  it('accepts an assistant refusal in the conversation', async () => {
    const reply = await client.chat.completions.create({
      model: 'tiny',
      max_tokens: 3,
      messages: [
        { role: 'user', content: 'Tell me a secret.' },
        { role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot help with that.' }], refusal: 'I cannot help with that.' },
        { role: 'user', content: 'Then help with my order.' },
      ],
    });
    expect(reply.choices).toHaveLength(1);
  }, 60_000);

  it('GET /v1/models/{id} describes the served model; other ids are 404', async () => {
    const m = await client.models.retrieve('tiny');
    expect(m).toMatchObject({ id: 'tiny', object: 'model', owned_by: 'lookout' });
    const error = await client.models.retrieve('other').catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('a server with images off refuses image input with 400 images_unsupported', async () => {
    const content: OpenAI.Chat.Completions.ChatCompletionContentPart[] = [{ type: 'image_url', image_url: { url: PNG_1X1 } }, { type: 'text', text: 'What is this?' }];
    const error = await noImagesClient.chat.completions.create({ model: 'tiny', max_tokens: 3, messages: [{ role: 'user', content }] }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.code).toBe('images_unsupported');
    const ok = await noImagesClient.chat.completions.create({ model: 'tiny', max_tokens: 3, messages });
    expect(ok.choices).toHaveLength(1);
  }, 60_000);
});
