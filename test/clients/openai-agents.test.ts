// The OpenAI Agents SDK (@openai/agents) on its Chat Completions model, pointed at `lookout
// serve`: a run that calls a tool and answers from its result (streamed and not), a forced tool
// choice, a zod outputType (structured output), an image input, an aborted streamed run and a
// bad request.
import { Agent, OpenAIChatCompletionsModel, OpenAIProvider, run, setTracingDisabled, tool, type Model } from '@openai/agents';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { callTool, say } from '@lookout/core/testing';
import { API_KEY, PNG_BYTES, PNG_DATA_URL, SCRIPTED, TINY, afterToolResult, closeServers, finish, plainAnswer, startScripted, startTiny, type ScriptedServer, type TinyServer } from './fixtures.js';

setTracingDisabled(true);

const Ticket = z.object({
  category: z.enum(['damaged_item', 'late_delivery', 'refund']),
  summary: z.string(),
  quantity: z.number().int(),
  urgent: z.boolean(),
});
const TICKET: z.infer<typeof Ticket> = { category: 'damaged_item', summary: 'Cracked screen', quantity: 1, urgent: true };

let scripted: ScriptedServer;
let tiny: TinyServer;

/** The SDK's own way to reach a Chat Completions server: a provider with its own `openai` client. */
const providerModel = (baseURL: string, name: string): Promise<Model> => new OpenAIProvider({ baseURL, apiKey: API_KEY, useResponses: false }).getModel(name);

beforeAll(async () => {
  scripted = await startScripted((request) => {
    if (afterToolResult(request)) return [...say(`Order A-17 has ${JSON.parse((request.messages!.at(-1) as { content: string }).content).status}.`), finish()];
    if (request.tools?.length) return [callTool('lookup_order', { orderId: 'A-17' }, 'call_lookup'), finish({ inputTokens: 33, outputTokens: 7 })];
    if (request.responseFormat?.type === 'json_schema') return [...say(JSON.stringify(TICKET), { chunk: 6 }), finish()];
    return plainAnswer(request);
  });
  tiny = await startTiny();
}, 120_000);

afterAll(() => closeServers(scripted, tiny));

const executed: unknown[] = [];
const lookupOrder = tool({
  name: 'lookup_order',
  description: 'Find an order',
  parameters: z.object({ orderId: z.string() }),
  execute: async (args) => {
    executed.push(args);
    return { orderId: args.orderId, status: 'shipped' };
  },
});

describe('Agents SDK (OpenAIChatCompletionsModel) against the scripted model', () => {
  it('a run calls the tool and answers from its result, through the provider or a client handed to the model', async () => {
    const models: Array<[string, Model]> = [
      ['OpenAIProvider', await providerModel(scripted.baseURL, SCRIPTED)],
      // An application's own `openai` client (this repository pins 6.x) handed to the model.
      ['new OpenAIChatCompletionsModel', new OpenAIChatCompletionsModel(new OpenAI({ baseURL: scripted.baseURL, apiKey: API_KEY, maxRetries: 0 }) as never, SCRIPTED)],
    ];
    for (const [how, model] of models) {
      expect(model, how).toBeInstanceOf(OpenAIChatCompletionsModel);
      executed.length = 0;
      const first = scripted.model.requests.length;
      const agent = new Agent({ name: 'support', instructions: 'Help with orders.', model, tools: [lookupOrder], modelSettings: { toolChoice: 'required', maxTokens: 64 } });
      const result = await run(agent, 'Where is order A-17?');
      expect(result.finalOutput, how).toBe('Order A-17 has shipped.');
      expect(executed).toEqual([{ orderId: 'A-17' }]);
      expect(result.newItems.map((i) => i.type)).toEqual(['tool_call_item', 'tool_call_output_item', 'message_output_item']);
      expect(result.runContext.usage).toMatchObject({ requests: 2, inputTokens: 33 + 21, outputTokens: 7 + 5, totalTokens: 66 });
      const [call, answer] = scripted.model.requests.slice(first);
      expect(call.messages).toEqual([
        { role: 'system', content: 'Help with orders.' },
        { role: 'user', content: 'Where is order A-17?' },
      ]);
      expect(call.toolChoice).toBe('required');
      expect(call.sampling?.maxTokens).toBe(64);
      expect(call.tools).toEqual([{ name: 'lookup_order', description: 'Find an order', parameters: expect.objectContaining({ type: 'object', required: ['orderId'] }) }]);
      // The SDK resets a forced tool choice after the tool ran, so the model can answer.
      expect(answer.toolChoice).not.toBe('required');
      expect(answer.messages!.slice(2)).toEqual([
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_lookup', name: 'lookup_order', arguments: { orderId: 'A-17' } }] },
        { role: 'tool', toolCallId: 'call_lookup', name: 'lookup_order', content: '{"orderId":"A-17","status":"shipped"}' },
      ]);
    }
  });

  it('a streamed run gives the same answer and text deltas', async () => {
    const agent = new Agent({ name: 'support', instructions: 'Help with orders.', model: await providerModel(scripted.baseURL, SCRIPTED), tools: [lookupOrder] });
    const result = await run(agent, 'Where is order A-17?', { stream: true });
    let text = '';
    for await (const delta of result.toTextStream()) text += delta;
    await result.completed;
    expect(text).toBe('Order A-17 has shipped.');
    expect(result.finalOutput).toBe('Order A-17 has shipped.');
    expect(result.runContext.usage).toMatchObject({ requests: 2, inputTokens: 54, outputTokens: 12 });
  });

  it('outputType (zod): response_format json_schema, strict; finalOutput is the parsed object', async () => {
    const agent = new Agent({ name: 'triage', instructions: 'File a ticket.', model: await providerModel(scripted.baseURL, SCRIPTED), outputType: Ticket });
    const result = await run(agent, 'My screen arrived cracked.');
    expect(result.finalOutput).toEqual(TICKET);
    expect(scripted.model.requests.at(-1)!.responseFormat).toMatchObject({
      type: 'json_schema',
      name: 'output',
      strict: true,
      schema: { type: 'object', required: ['category', 'summary', 'quantity', 'urgent'], additionalProperties: false },
    });
  });
});

describe('Agents SDK against the scripted model: forced tools, images, abort, errors', () => {
  it('modelSettings.toolChoice naming a tool reaches the model as a forced choice', async () => {
    const agent = new Agent({ name: 'support', model: await providerModel(scripted.baseURL, SCRIPTED), tools: [lookupOrder], modelSettings: { toolChoice: 'lookup_order' } });
    const result = await run(agent, 'Where is order A-17?');
    expect(result.finalOutput).toBe('Order A-17 has shipped.');
    const forced = scripted.model.requests.find((r) => r.toolChoice !== undefined && typeof r.toolChoice === 'object');
    expect(forced?.toolChoice).toEqual({ name: 'lookup_order' });
  });

  it('an input_image (data URL) reaches the model as the image bytes', async () => {
    const agent = new Agent({ name: 'vision', model: await providerModel(scripted.baseURL, SCRIPTED) });
    const result = await run(agent, [{ role: 'user', content: [{ type: 'input_text', text: 'What is this?' }, { type: 'input_image', image: PNG_DATA_URL }] }]);
    expect(result.finalOutput).toBe(`I see 1 image of ${PNG_BYTES.length} bytes.`);
  });

  it('aborting a streamed run (signal) cancels the generation on the server', async () => {
    const before = scripted.model.aborted;
    const controller = new AbortController();
    const agent = new Agent({ name: 'talker', model: await providerModel(scripted.baseURL, SCRIPTED) });
    const result = await run(agent, 'slow', { stream: true, signal: controller.signal });
    let text = '';
    await (async () => {
      for await (const delta of result.toTextStream()) {
        text += delta;
        if (text) controller.abort();
      }
    })().catch(() => undefined);
    expect(text).toBe('one ');
    await expect.poll(() => scripted.model.aborted, { timeout: 5000 }).toBe(before + 1);
  });

  it("a bad request surfaces as the openai client's 400 error with the server message", async () => {
    const agent = new Agent({ name: 'hot', model: await providerModel(scripted.baseURL, SCRIPTED), modelSettings: { temperature: 5 } });
    const error = await run(agent, 'hi').catch((e: unknown) => e);
    // The SDK's own copy of the openai client throws it: its BadRequestError, status 400.
    expect((error as Error).constructor.name).toBe('BadRequestError');
    expect(error).toMatchObject({ status: 400 });
    expect((error as Error).message).toMatch(/temperature:/);
  });
});

describe('Agents SDK against the tiny in-process model (random weights, constrained decoding)', () => {
  it('outputType gives an object the zod schema accepts; a forced tool call runs the tool with valid arguments', async () => {
    const model = await providerModel(tiny.baseURL, TINY);
    const triage = new Agent({ name: 'triage', instructions: 'File a ticket.', model, outputType: Ticket, modelSettings: { maxTokens: 100 } });
    const structured = await run(triage, 'My mug arrived broken.');
    expect(Ticket.safeParse(structured.finalOutput).success).toBe(true);

    executed.length = 0;
    // The call has to fit in maxTokens (a forced call cut short ends with finish_reason "length");
    // stop_on_first_tool ends the run with the tool's output, sparing a second random reply.
    const support = new Agent({
      name: 'support',
      instructions: 'Help with orders.',
      model,
      tools: [lookupOrder],
      toolUseBehavior: 'stop_on_first_tool',
      modelSettings: { toolChoice: 'lookup_order', maxTokens: 80 },
    });
    const result = await run(support, 'Where is order A-17?');
    // The SDK parses the arguments with the tool's zod schema before execute: it ran once.
    expect(executed).toHaveLength(1);
    expect(z.object({ orderId: z.string() }).safeParse(executed[0]).success).toBe(true);
    expect(result.newItems.map((i) => i.type)).toEqual(['tool_call_item', 'tool_call_output_item']);
    expect(JSON.parse(String(result.finalOutput))).toMatchObject({ status: 'shipped' });
  });
});
