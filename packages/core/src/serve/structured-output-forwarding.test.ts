// `serve --base-url`: response_format and tool_choice reach the engine behind unchanged (it is
// the engine that enforces them), tool_choice "none" drops the tools, and a model loaded with
// images off (--no-images) refuses image input before the engine sees it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LookoutServer } from './index.js';
import { loadLanguageModel } from './load-model.js';

let engine: Server;
const bodies: Array<Record<string, unknown>> = [];
let server: LookoutServer;
let client: OpenAI;

beforeAll(async () => {
  engine = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    bodies.push(body);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'engine-model', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.end(chunk({ role: 'assistant', content: '{"ok":true}' }, null) + chunk({}, 'stop') + 'data: [DONE]\n\n');
  });
  await new Promise<void>((r) => engine.listen(0, '127.0.0.1', r));
  const baseUrl = `http://127.0.0.1:${(engine.address() as AddressInfo).port}/v1`;
  const model = await loadLanguageModel({ baseUrl, model: 'engine-model', apiKey: 'k', images: false });
  server = new LookoutServer({ model, modelName: 'front' });
  client = new OpenAI({ baseURL: await server.listen(0), apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
  engine?.closeAllConnections();
  await new Promise((r) => engine?.close(r));
});

const tools: OpenAI.Chat.Completions.ChatCompletionFunctionTool[] = [
  { type: 'function', function: { name: 'refund', description: 'Refund', parameters: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } } },
];
const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hi' }];

describe('serve --base-url forwards structured output', () => {
  it('response_format json_schema and json_object go to the engine unchanged', async () => {
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false };
    await client.chat.completions.create({ model: 'front', messages, response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } } });
    expect(bodies.at(-1)!.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } });
    await client.chat.completions.create({ model: 'front', messages, response_format: { type: 'json_object' } });
    expect(bodies.at(-1)!.response_format).toEqual({ type: 'json_object' });
  });

  it('tool_choice required / named go to the engine; none drops the tools', async () => {
    await client.chat.completions.create({ model: 'front', messages, tools, tool_choice: 'required' });
    expect(bodies.at(-1)!.tool_choice).toBe('required');
    await client.chat.completions.create({ model: 'front', messages, tools, tool_choice: { type: 'function', function: { name: 'refund' } } });
    expect(bodies.at(-1)!.tool_choice).toEqual({ type: 'function', function: { name: 'refund' } });
    expect(bodies.at(-1)!.tools).toEqual([tools[0]]);
    await client.chat.completions.create({ model: 'front', messages, tools, tool_choice: 'none' });
    expect(bodies.at(-1)!.tools).toBeUndefined();
    expect(bodies.at(-1)!.tool_choice).toBeUndefined();
  });

  it('with images off, image input is refused with 400 before it reaches the engine', async () => {
    const before = bodies.length;
    const error = await client.chat.completions
      .create({ model: 'front', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }] })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.code).toBe('images_unsupported');
    expect(bodies.length).toBe(before);
  });
});
