import { generateObject, generateText, Output, stepCountIs, streamText, tool, wrapLanguageModel } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PiiGuard } from '@lookout/guards';
import { useTinyOnnxModel } from '@lookout/runtime/testing';
import { ScriptedModel, callTool, say } from '../testing/index.js';
import { guardMiddleware, lookoutLanguageModel } from './index.js';

describe('lookoutLanguageModel: a Lookout model in the AI SDK', () => {
  it('generateText runs a tool loop; the Lookout model receives messages, tools and images', async () => {
    const scripted = new ScriptedModel({ steps: [[callTool('get_order', { orderId: 'A-1' }, 'c1')], say('Order A-1 has shipped.')] });
    const result = await generateText({
      model: lookoutLanguageModel(scripted),
      system: 'You are a shop assistant.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Where is A-1?' }, { type: 'file', data: new Uint8Array([137, 80, 78, 71]), mediaType: 'image/png' }] }],
      tools: { get_order: tool({ description: 'Look up an order', inputSchema: z.object({ orderId: z.string() }), execute: async ({ orderId }) => ({ orderId, status: 'shipped' }) }) },
      maxOutputTokens: 50,
      stopWhen: stepCountIs(3),
    });
    expect(result.text).toBe('Order A-1 has shipped.');
    const [first, second] = scripted.requests;
    expect(first.tools?.map((t) => t.name)).toEqual(['get_order']);
    expect(first.sampling?.maxTokens).toBe(50);
    expect(first.messages?.[0]).toEqual({ role: 'system', content: 'You are a shop assistant.' });
    const user = first.messages?.[1] as { content: Array<{ type: string }> };
    expect(user.content.map((p) => p.type)).toEqual(['text', 'image']);
    expect(second.messages?.at(-2)).toMatchObject({ role: 'assistant', toolCalls: [{ id: 'c1', name: 'get_order', arguments: { orderId: 'A-1' } }] });
    expect(second.messages?.at(-1)).toMatchObject({ role: 'tool', toolCallId: 'c1', content: '{"orderId":"A-1","status":"shipped"}' });
  });

  it('streamText streams the text; with guardMiddleware the output is held back and checked', async () => {
    const plain = streamText({ model: lookoutLanguageModel(new ScriptedModel({ steps: [say('Hello there, how can I help?', { chunk: 4 })] })), prompt: 'hi' });
    const deltas: string[] = [];
    for await (const d of plain.textStream) deltas.push(d);
    expect(deltas.join('')).toBe('Hello there, how can I help?');
    expect(deltas.length).toBeGreaterThan(3);

    const guarded = wrapLanguageModel({
      model: lookoutLanguageModel(new ScriptedModel({ steps: [say('Your card is 4111 1111 1111 1111.', { chunk: 4 })] })),
      middleware: guardMiddleware({ output: [new PiiGuard()], refusal: 'Withheld.' }),
    });
    const result = streamText({ model: guarded, prompt: 'card?' });
    expect(await result.text).not.toContain('4111');
    expect(await result.text).toContain('Withheld.');
  });

  it('the abort signal stops the Lookout model', async () => {
    const scripted = new ScriptedModel({ steps: [[{ type: 'delay', ms: 5_000 }, ...say('late')]] });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(generateText({ model: lookoutLanguageModel(scripted), prompt: 'x', abortSignal: controller.signal })).rejects.toThrow();
    expect(scripted.aborted).toBe(1);
  });
});

const Ticket = z.object({ category: z.enum(['damaged', 'late', 'other']), urgent: z.boolean(), items: z.number().int() });

describe('lookoutLanguageModel: JSON replies and tool choice', () => {
  it('generateObject sends the schema as a json_schema response format and parses the reply', async () => {
    const scripted = new ScriptedModel({ steps: [say('{"category":"damaged","urgent":true,"items":2}')], capabilities: { structuredOutput: true } });
    const { object, warnings } = await generateObject({ model: lookoutLanguageModel(scripted), schema: Ticket, prompt: 'My mug arrived broken.' });
    expect(object).toEqual({ category: 'damaged', urgent: true, items: 2 });
    expect(warnings ?? []).toEqual([]);
    const format = scripted.requests[0].responseFormat;
    expect(format).toMatchObject({ type: 'json_schema', strict: true });
    expect((format as { schema: Record<string, unknown> }).schema.properties).toHaveProperty('category');
    expect(scripted.requests[0].tools).toBeUndefined();
  });

  it('toolChoice required, a named tool and none reach the model as its tool choice', async () => {
    const tools = {
      get_order: tool({ description: 'Look up an order', inputSchema: z.object({ orderId: z.string() }) }),
      refund: tool({ description: 'Refund an order', inputSchema: z.object({ orderId: z.string() }) }),
    };
    const scripted = new ScriptedModel({ steps: [[callTool('refund', { orderId: 'A-1' })], [callTool('get_order', { orderId: 'A-1' })], say('No tools.')], capabilities: { structuredOutput: true } });
    const model = lookoutLanguageModel(scripted);
    const named = await generateText({ model, tools, toolChoice: { type: 'tool', toolName: 'refund' }, prompt: 'refund A-1' });
    expect(named.toolCalls.map((c) => c.toolName)).toEqual(['refund']);
    await generateText({ model, tools, toolChoice: 'required', prompt: 'A-1?' });
    const none = await generateText({ model, tools, toolChoice: 'none', prompt: 'hi' });
    expect(none.text).toBe('No tools.');
    expect(scripted.requests.map((r) => r.toolChoice)).toEqual([{ name: 'refund' }, 'required', undefined]);
    expect(scripted.requests[2].tools).toBeUndefined();
  });

  it('Output.object with tools: tools are called first, the answer alone is constrained', async () => {
    const scripted = new ScriptedModel({
      capabilities: { structuredOutput: true },
      steps: [
        [callTool('get_order', { orderId: 'A-1' }, 'c1')],
        say('The order has two damaged items.'), // free answer, not JSON: asked again under the schema
        say('{"category":"damaged","urgent":false,"items":2}'),
      ],
    });
    const result = await generateText({
      model: lookoutLanguageModel(scripted),
      output: Output.object({ schema: Ticket }),
      tools: { get_order: tool({ description: 'Look up an order', inputSchema: z.object({ orderId: z.string() }), execute: async () => ({ items: 2, damaged: true }) }) },
      stopWhen: stepCountIs(3),
      prompt: 'Open a ticket for A-1',
    });
    expect(result.output).toEqual({ category: 'damaged', urgent: false, items: 2 });
    const [call, free, answer] = scripted.requests;
    expect(call.tools?.map((t) => t.name)).toEqual(['get_order']);
    expect(call.responseFormat).toBeUndefined();
    expect(free.tools).toHaveLength(1);
    expect(answer.tools).toBeUndefined();
    expect(answer.responseFormat).toMatchObject({ type: 'json_schema' });
    // The answer's usage counts both passes (the scripted model counts a token per 8-character delta).
    expect(result.steps[1].usage.outputTokens).toBe(Math.ceil('The order has two damaged items.'.length / 8) + Math.ceil('{"category":"damaged","urgent":false,"items":2}'.length / 8));
  });

  it('a free answer that already matches the schema is kept (one pass)', async () => {
    const scripted = new ScriptedModel({ capabilities: { structuredOutput: true }, steps: [say('{"category":"late","urgent":true,"items":1}')] });
    const result = await generateText({
      model: lookoutLanguageModel(scripted),
      output: Output.object({ schema: Ticket }),
      tools: { get_order: tool({ description: 'Look up an order', inputSchema: z.object({ orderId: z.string() }) }) },
      prompt: 'Late order',
    });
    expect(result.output).toEqual({ category: 'late', urgent: true, items: 1 });
    expect(scripted.requests).toHaveLength(1);
  });

  it('a model that cannot constrain gets neither, with unsupported warnings', async () => {
    const scripted = new ScriptedModel({ steps: [say('{"category":"other","urgent":false,"items":0}')] });
    const result = await generateText({ model: lookoutLanguageModel(scripted), output: Output.object({ schema: Ticket }), prompt: 'x' });
    expect(result.output).toEqual({ category: 'other', urgent: false, items: 0 });
    expect(scripted.requests[0].responseFormat).toBeUndefined();
    expect(result.warnings?.map((w) => (w as { feature?: string }).feature)).toContain('responseFormat json (the model cannot constrain its output)');
  });
});

describe('lookoutLanguageModel on the tiny in-process model (random weights)', () => {
  const tiny = useTinyOnnxModel({ arch: 'mllama', seed: 7 });

  it('generateObject and Output.object give objects valid against the schema (decoding is constrained)', async () => {
    const model = lookoutLanguageModel(tiny());
    for (const seed of [1, 2]) {
      const { object } = await generateObject({ model, schema: Ticket, prompt: 'My mug arrived broken.', maxOutputTokens: 120, temperature: 1, seed });
      expect(Ticket.safeParse(object).success).toBe(true);
    }
    const streamed = streamText({ model, output: Output.object({ schema: Ticket }), prompt: 'Late parcel.', maxOutputTokens: 120 });
    expect(Ticket.safeParse(await streamed.output).success).toBe(true);
  });

  it('a named tool choice gives a call of that tool with arguments valid against its schema', async () => {
    const { toolCalls } = await generateText({
      model: lookoutLanguageModel(tiny()),
      tools: { refund: tool({ description: 'Refund an order', inputSchema: z.object({ orderId: z.string(), amount: z.number() }) }) },
      toolChoice: { type: 'tool', toolName: 'refund' },
      prompt: 'Refund A-1',
      maxOutputTokens: 120,
    });
    expect(toolCalls).toHaveLength(1);
    expect(toolCalls[0].toolName).toBe('refund');
    expect(z.object({ orderId: z.string(), amount: z.number() }).safeParse(toolCalls[0].input).success).toBe(true);
  });
});
