// The AI SDK (`ai` with `@ai-sdk/openai-compatible`) against `lookout serve`: generateText,
// streamText, tools, generateObject and Output.object with zod schemas, image parts, errors.
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { APICallError, Output, generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { callTool, say } from '@lookout/core/testing';
import { API_KEY, PNG_BYTES, SCRIPTED, TINY, afterToolResult, closeServers, finish, plainAnswer, startScripted, startTiny, userImages, type ScriptedServer, type TinyServer } from './fixtures.js';

const Ticket = z.object({
  category: z.enum(['damaged_item', 'late_delivery', 'refund']),
  summary: z.string(),
  items: z.array(z.object({ sku: z.string(), quantity: z.number().int() })),
  urgent: z.boolean(),
});
const TICKET: z.infer<typeof Ticket> = { category: 'late_delivery', summary: 'Parcel is a week late', items: [{ sku: 'LAMP-3', quantity: 1 }], urgent: false };

// generateObject and the image part are deprecated in AI SDK 7 but still what many programs call.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

let scripted: ScriptedServer;
let tiny: TinyServer;

const provider = (baseURL: string, name = 'lookout') => createOpenAICompatible({ name, baseURL, apiKey: API_KEY, includeUsage: true, supportsStructuredOutputs: true });

beforeAll(async () => {
  scripted = await startScripted((request) => {
    if (afterToolResult(request)) {
      const result = request.messages!.at(-1) as { content: string };
      return [...say(`The order A-17 has ${JSON.parse(result.content).status}.`), finish()];
    }
    const choice = request.toolChoice;
    if (typeof choice === 'object') return [callTool(choice.name, { orderId: 'A-17', amount: 30 }, 'call_named'), finish({ inputTokens: 33, outputTokens: 9 })];
    if (request.tools?.length) return [callTool('lookup_order', { orderId: 'A-17' }, 'call_lookup'), finish({ inputTokens: 33, outputTokens: 7 })];
    if (request.responseFormat?.type === 'json_schema') return [...say(JSON.stringify(TICKET), { chunk: 6 }), finish()];
    return plainAnswer(request, 4);
  });
  tiny = await startTiny();
}, 120_000);

afterAll(() => closeServers(scripted, tiny));

const lookupOrder = tool({
  description: 'Find an order',
  inputSchema: z.object({ orderId: z.string() }),
  execute: async ({ orderId }) => ({ orderId, status: 'shipped' }),
});
const refund = tool({ description: 'Refund an order', inputSchema: z.object({ orderId: z.string(), amount: z.number() }) });

describe('AI SDK (@ai-sdk/openai-compatible) against the scripted model', () => {
  it('generateText: text, finish reason and usage', async () => {
    const model = provider(scripted.baseURL).chatModel(SCRIPTED);
    const result = await generateText({ model, system: 'Be brief.', prompt: 'hi', maxOutputTokens: 40, temperature: 0, maxRetries: 0 });
    expect(result.text).toBe('Hello from Lookout.');
    expect(result.finishReason).toBe('stop');
    expect(result.usage).toMatchObject({ inputTokens: 21, outputTokens: 5, totalTokens: 26 });
    const seen = scripted.model.requests.at(-1)!;
    expect(seen.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi' },
    ]);
    expect(seen.sampling).toMatchObject({ maxTokens: 40, temperature: 0 });
  });

  it('streamText: the text stream and the usage of the stream', async () => {
    const result = streamText({ model: provider(scripted.baseURL).chatModel(SCRIPTED), prompt: 'hi', maxRetries: 0 });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('Hello from Lookout.');
    expect(await result.finishReason).toBe('stop');
    expect(await result.usage).toMatchObject({ inputTokens: 21, outputTokens: 5, totalTokens: 26 });
  });

  it('tools: a call, its execution and the answer after the result (multi-step), streamed and not', async () => {
    const result = await generateText({ model: provider(scripted.baseURL).chatModel(SCRIPTED), prompt: 'where is A-17?', tools: { lookup_order: lookupOrder }, stopWhen: stepCountIs(3), maxRetries: 0 });
    expect(result.text).toBe('The order A-17 has shipped.');
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0].finishReason).toBe('tool-calls');
    expect(result.steps[0].toolCalls).toMatchObject([{ toolCallId: 'call_lookup', toolName: 'lookup_order', input: { orderId: 'A-17' } }]);
    expect(result.steps[0].toolResults).toMatchObject([{ toolName: 'lookup_order', output: { orderId: 'A-17', status: 'shipped' } }]);
    expect(result.totalUsage).toMatchObject({ inputTokens: 33 + 21, outputTokens: 7 + 5 });
    const seen = scripted.model.requests.at(-1)!;
    expect(seen.messages!.slice(1)).toEqual([
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_lookup', name: 'lookup_order', arguments: { orderId: 'A-17' } }] },
      { role: 'tool', toolCallId: 'call_lookup', name: 'lookup_order', content: '{"orderId":"A-17","status":"shipped"}' },
    ]);
    expect(scripted.model.requests.at(-2)!.tools).toEqual([
      { name: 'lookup_order', description: 'Find an order', parameters: expect.objectContaining({ type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] }) },
    ]);

    const streamed = streamText({ model: provider(scripted.baseURL).chatModel(SCRIPTED), prompt: 'where is A-17?', tools: { lookup_order: lookupOrder }, stopWhen: stepCountIs(3), maxRetries: 0 });
    const calls: unknown[] = [];
    for await (const part of streamed.fullStream) if (part.type === 'tool-call') calls.push({ name: part.toolName, input: part.input });
    expect(calls).toEqual([{ name: 'lookup_order', input: { orderId: 'A-17' } }]);
    expect(await streamed.text).toBe('The order A-17 has shipped.');
  });

  it('toolChoice "required" and a named tool reach the model as forced choices', async () => {
    const model = provider(scripted.baseURL).chatModel(SCRIPTED);
    const required = await generateText({ model, prompt: 'A-17', tools: { lookup_order: lookupOrder, refund }, toolChoice: 'required', maxRetries: 0 });
    expect(scripted.model.requests.at(-1)!.toolChoice).toBe('required');
    expect(required.toolCalls.map((c) => c.toolName)).toEqual(['lookup_order']);
    expect(required.usage).toMatchObject({ inputTokens: 33, outputTokens: 7 });

    const named = await generateText({ model, prompt: 'refund A-17', tools: { lookup_order: lookupOrder, refund }, toolChoice: { type: 'tool', toolName: 'refund' }, maxRetries: 0 });
    expect(scripted.model.requests.at(-1)!.toolChoice).toEqual({ name: 'refund' });
    expect(named.finishReason).toBe('tool-calls');
    expect(named.toolCalls).toMatchObject([{ toolName: 'refund', input: { orderId: 'A-17', amount: 30 } }]);
  });

  it('generateObject and Output.object with a zod schema: response_format json_schema, the parsed object', async () => {
    const model = provider(scripted.baseURL).chatModel(SCRIPTED);
    const { object } = await generateObject({ model, schema: Ticket, schemaName: 'ticket', prompt: 'file a ticket', maxRetries: 0 });
    expect(object).toEqual(TICKET);
    expect(scripted.model.requests.at(-1)!.responseFormat).toMatchObject({ type: 'json_schema', name: 'ticket', schema: { type: 'object', required: ['category', 'summary', 'items', 'urgent'] } });

    const text = await generateText({ model, output: Output.object({ schema: Ticket }), prompt: 'file a ticket', maxRetries: 0 });
    expect(text.output).toEqual(TICKET);

    const streamed = streamText({ model, output: Output.object({ schema: Ticket }), prompt: 'file a ticket', maxRetries: 0 });
    const partials: unknown[] = [];
    for await (const partial of streamed.partialOutputStream) partials.push(partial);
    expect(partials.length).toBeGreaterThan(1);
    expect(await streamed.output).toEqual(TICKET);
  });

  it('an image (a file part with an image media type, or the older image part) reaches the model as the image bytes', async () => {
    const parts = [
      { type: 'file', data: PNG_BYTES, mediaType: 'image/png' },
      { type: 'image', image: PNG_BYTES, mediaType: 'image/png' },
    ] as const;
    for (const part of parts) {
      const result = await generateText({
        model: provider(scripted.baseURL).chatModel(SCRIPTED),
        messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, part] }],
        maxRetries: 0,
      });
      expect(result.text).toBe(`I see 1 image of ${PNG_BYTES.length} bytes.`);
      const image = userImages(scripted.model.requests.at(-1)!)[0];
      expect(Buffer.from(image).equals(Buffer.from(PNG_BYTES))).toBe(true);
    }
  });

  it('aborting streamText (abortSignal) cancels the generation on the server', async () => {
    const before = scripted.model.aborted;
    const controller = new AbortController();
    const result = streamText({ model: provider(scripted.baseURL).chatModel(SCRIPTED), prompt: 'slow', abortSignal: controller.signal, maxRetries: 0, onError: () => {} });
    let text = '';
    await (async () => {
      for await (const delta of result.textStream) {
        text += delta;
        if (text) controller.abort();
      }
    })().catch(() => undefined);
    expect(text).toBe('one ');
    await expect.poll(() => scripted.model.aborted, { timeout: 5000 }).toBe(before + 1);
    const health = await fetch(scripted.baseURL.replace(/\/v1$/, '/health'));
    expect(await health.json()).toMatchObject({ active: 0, queued: 0 });
  });

  it('bad input: APICallError with status 400, not retryable, and the server message', async () => {
    const model = provider(scripted.baseURL).chatModel(SCRIPTED);
    const err = await generateText({ model, prompt: 'hi', temperature: 7, maxRetries: 2 }).catch((e: unknown) => e);
    expect(APICallError.isInstance(err)).toBe(true);
    expect(err).toMatchObject({ statusCode: 400, isRetryable: false });
    expect((err as APICallError).message).toMatch(/^temperature:/);
    const missing = await generateText({ model: provider(scripted.baseURL).chatModel('gpt-4o'), prompt: 'hi', maxRetries: 0 }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ statusCode: 404 });
  });
});

describe('AI SDK structured output from the tiny in-process model (random weights, constrained decoding)', () => {
  it('generateObject, streamText with Output.object and a forced tool call give values the zod schemas accept', async () => {
    const model = provider(tiny.baseURL).chatModel(TINY);
    const { object, finishReason } = await generateObject({ model, schema: Ticket, prompt: 'My mug arrived broken.', maxOutputTokens: 120, maxRetries: 0 });
    expect(finishReason).toBe('stop');
    expect(Ticket.safeParse(object).success).toBe(true);

    const streamed = streamText({ model, output: Output.object({ schema: Ticket }), prompt: 'My lamp is late.', maxOutputTokens: 120, temperature: 1, seed: 5, maxRetries: 0 });
    expect(Ticket.safeParse(await streamed.output).success).toBe(true);
    expect((await streamed.usage).outputTokens).toBeGreaterThan(0);

    const forced = await generateText({ model, prompt: 'Refund A-17.', tools: { lookup_order: lookupOrder, refund }, toolChoice: { type: 'tool', toolName: 'refund' }, maxOutputTokens: 60, maxRetries: 0 });
    expect(forced.toolCalls).toHaveLength(1);
    expect(forced.toolCalls[0].toolName).toBe('refund');
    // The SDK validates the arguments against the tool's zod schema; an invalid call would be marked invalid.
    expect(forced.toolCalls[0].invalid).toBeFalsy();
    expect(z.object({ orderId: z.string(), amount: z.number() }).safeParse(forced.toolCalls[0].input).success).toBe(true);
  });
});
