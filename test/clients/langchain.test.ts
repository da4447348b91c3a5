// LangChain's ChatOpenAI (@langchain/openai) against `lookout serve`: invoke, stream, bindTools
// with tool_choice, withStructuredOutput by json schema, function calling and JSON mode, images.
import { AIMessage, HumanMessage, SystemMessage, ToolMessage, type AIMessageChunk } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { callTool, say } from '@lookout/core/testing';
import { API_KEY, PNG_BYTES, PNG_DATA_URL, SCRIPTED, TINY, afterToolResult, closeServers, finish, plainAnswer, startScripted, startTiny, userImages, type ScriptedServer, type TinyServer } from './fixtures.js';

const Ticket = z.object({
  category: z.enum(['damaged_item', 'late_delivery', 'refund']),
  summary: z.string(),
  quantity: z.number().int(),
  urgent: z.boolean(),
});
const TICKET: z.infer<typeof Ticket> = { category: 'refund', summary: 'Wrong size', quantity: 3, urgent: false };

let scripted: ScriptedServer;
let tiny: TinyServer;

const chat = (baseURL: string, model: string, fields: Partial<ConstructorParameters<typeof ChatOpenAI>[0] & object> = {}) =>
  new ChatOpenAI({ model, apiKey: API_KEY, configuration: { baseURL }, maxRetries: 0, ...fields });

beforeAll(async () => {
  scripted = await startScripted((request) => {
    if (afterToolResult(request)) return [...say('Order A-17 has shipped.'), finish()];
    const choice = request.toolChoice;
    // Function-calling structured output: a forced call of the schema's function.
    if (typeof choice === 'object' && choice.name === 'ticket') return [callTool('ticket', TICKET, 'call_ticket'), finish()];
    if (typeof choice === 'object') return [callTool(choice.name, { orderId: 'A-17', amount: 9.5 }, 'call_named'), finish()];
    if (request.tools?.length) return [callTool('lookup_order', { orderId: 'A-17' }, 'call_lookup'), finish({ inputTokens: 30, outputTokens: 8 })];
    if (request.responseFormat?.type === 'json_schema' || request.responseFormat?.type === 'json_object') return [...say(JSON.stringify(TICKET), { chunk: 5 }), finish()];
    return plainAnswer(request, 4);
  });
  tiny = await startTiny();
}, 120_000);

afterAll(() => closeServers(scripted, tiny));

const lookupOrder = tool(async ({ orderId }) => JSON.stringify({ orderId, status: 'shipped' }), {
  name: 'lookup_order',
  description: 'Find an order',
  schema: z.object({ orderId: z.string() }),
});
const refund = tool(async () => 'refunded', { name: 'refund', description: 'Refund an order', schema: z.object({ orderId: z.string(), amount: z.number() }) });

describe('LangChain ChatOpenAI against the scripted model', () => {
  it('invoke: content, usage_metadata and finish reason', async () => {
    const reply = await chat(scripted.baseURL, SCRIPTED, { temperature: 0, maxTokens: 30 }).invoke([new SystemMessage('Be brief.'), new HumanMessage('hi')]);
    expect(reply.content).toBe('Hello from Lookout.');
    expect(reply.usage_metadata).toMatchObject({ input_tokens: 21, output_tokens: 5, total_tokens: 26 });
    expect(reply.response_metadata).toMatchObject({ finish_reason: 'stop', model_name: SCRIPTED });
    const seen = scripted.model.requests.at(-1)!;
    expect(seen.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi' },
    ]);
    expect(seen.sampling).toMatchObject({ temperature: 0, maxTokens: 30 });
  });

  it('stream: chunks add up to the text, and the last carries usage', async () => {
    let whole: AIMessageChunk | undefined;
    let chunks = 0;
    for await (const chunk of await chat(scripted.baseURL, SCRIPTED).stream('hi')) {
      whole = whole ? whole.concat(chunk) : chunk;
      chunks++;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(whole!.content).toBe('Hello from Lookout.');
    expect(whole!.usage_metadata).toMatchObject({ input_tokens: 21, output_tokens: 5, total_tokens: 26 });
  });

  it('bindTools with tool_choice "any" and a named tool; a tool result goes back', async () => {
    const model = chat(scripted.baseURL, SCRIPTED);
    const forced = await model.bindTools([lookupOrder, refund], { tool_choice: 'any' }).invoke('where is A-17?');
    expect(scripted.model.requests.at(-1)!.toolChoice).toBe('required');
    expect(forced.tool_calls).toEqual([{ name: 'lookup_order', args: { orderId: 'A-17' }, id: 'call_lookup', type: 'tool_call' }]);
    expect(forced.usage_metadata).toMatchObject({ input_tokens: 30, output_tokens: 8 });

    const named = await model.bindTools([lookupOrder, refund], { tool_choice: 'refund' }).invoke('refund A-17');
    expect(scripted.model.requests.at(-1)!.toolChoice).toEqual({ name: 'refund' });
    expect(named.tool_calls).toMatchObject([{ name: 'refund', args: { orderId: 'A-17', amount: 9.5 } }]);

    // Streamed: the tool-call chunks merge into one call.
    let streamed: AIMessageChunk | undefined;
    for await (const chunk of await model.bindTools([lookupOrder], { tool_choice: 'any' }).stream('where is A-17?')) streamed = streamed ? streamed.concat(chunk) : chunk;
    expect(streamed!.tool_calls).toMatchObject([{ name: 'lookup_order', args: { orderId: 'A-17' }, id: 'call_lookup' }]);

    const result = await lookupOrder.invoke(forced.tool_calls![0]);
    const answer = await model.bindTools([lookupOrder]).invoke([new HumanMessage('where is A-17?'), new AIMessage({ content: '', tool_calls: forced.tool_calls }), result as ToolMessage]);
    expect(answer.content).toBe('Order A-17 has shipped.');
    expect(scripted.model.requests.at(-1)!.messages!.slice(1)).toEqual([
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_lookup', name: 'lookup_order', arguments: { orderId: 'A-17' } }] },
      { role: 'tool', toolCallId: 'call_lookup', name: 'lookup_order', content: '{"orderId":"A-17","status":"shipped"}' },
    ]);
  });

  it('withStructuredOutput: jsonSchema, functionCalling and jsonMode give the parsed object', async () => {
    const model = chat(scripted.baseURL, SCRIPTED);
    expect(await model.withStructuredOutput(Ticket, { name: 'ticket', method: 'jsonSchema', strict: true }).invoke('file a ticket')).toEqual(TICKET);
    expect(scripted.model.requests.at(-1)!.responseFormat).toMatchObject({ type: 'json_schema', name: 'ticket', strict: true, schema: { type: 'object', required: ['category', 'summary', 'quantity', 'urgent'] } });

    expect(await model.withStructuredOutput(Ticket, { name: 'ticket', method: 'functionCalling' }).invoke('file a ticket')).toEqual(TICKET);
    const seen = scripted.model.requests.at(-1)!;
    expect(seen.toolChoice).toEqual({ name: 'ticket' });
    expect(seen.tools?.map((t) => t.name)).toEqual(['ticket']);

    expect(await model.withStructuredOutput(Ticket, { method: 'jsonMode' }).invoke('file a ticket as JSON')).toEqual(TICKET);
    expect(scripted.model.requests.at(-1)!.responseFormat).toEqual({ type: 'json_object' });
  });

  it('images: an image_url part and a standard image content block reach the model as bytes', async () => {
    const model = chat(scripted.baseURL, SCRIPTED);
    const messages = [
      new HumanMessage({ content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: PNG_DATA_URL } }] }),
      new HumanMessage({ contentBlocks: [{ type: 'text', text: 'What is this?' }, { type: 'image', data: Buffer.from(PNG_BYTES).toString('base64'), mimeType: 'image/png' }] }),
    ];
    for (const message of messages) {
      const reply = await model.invoke([message]);
      expect(reply.content).toBe(`I see 1 image of ${PNG_BYTES.length} bytes.`);
      expect(Buffer.from(userImages(scripted.model.requests.at(-1)!)[0]).equals(Buffer.from(PNG_BYTES))).toBe(true);
    }
  });

  it('aborting a stream (signal) cancels the generation on the server', async () => {
    const before = scripted.model.aborted;
    const controller = new AbortController();
    let text = '';
    const error = await (async () => {
      for await (const chunk of await chat(scripted.baseURL, SCRIPTED).stream('slow', { signal: controller.signal })) {
        text += String(chunk.content);
        if (text) controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(text).toBe('one ');
    expect(String((error as Error | undefined)?.message ?? error)).toMatch(/abort/i);
    await expect.poll(() => scripted.model.aborted, { timeout: 5000 }).toBe(before + 1);
  });

  it('a bad request surfaces as a 400 error with the server message', async () => {
    const err = await chat(scripted.baseURL, SCRIPTED, { temperature: 5 }).invoke('hi').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400 });
    expect((err as Error).message).toMatch(/temperature:/);
  });
});

describe('LangChain structured output from the tiny in-process model (random weights, constrained decoding)', () => {
  it('withStructuredOutput by jsonSchema and by functionCalling parse and validate', async () => {
    const model = chat(tiny.baseURL, TINY, { maxTokens: 100 });
    const bySchema = await model.withStructuredOutput(Ticket, { name: 'ticket', method: 'jsonSchema', strict: true }).invoke('My mug arrived broken.');
    expect(Ticket.safeParse(bySchema).success).toBe(true);
    const byCall = await model.withStructuredOutput(Ticket, { name: 'ticket', method: 'functionCalling' }).invoke('My mug arrived broken.');
    expect(Ticket.safeParse(byCall).success).toBe(true);
    // JSON mode holds the reply to a JSON object, not to the schema: the raw text always parses.
    const { raw } = await model.withStructuredOutput(Ticket, { method: 'jsonMode', includeRaw: true }).invoke('Reply in JSON.');
    const value: unknown = JSON.parse(String(raw.content));
    expect(value !== null && typeof value === 'object' && !Array.isArray(value)).toBe(true);
  });
});
