import { generateText, stepCountIs, streamText, tool, wrapLanguageModel } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PiiGuard } from '@lookout/guards';
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
