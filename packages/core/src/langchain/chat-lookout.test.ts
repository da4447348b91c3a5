// Equivalent of @langchain/standard-tests' chat-model unit suite (that package is not on the
// registry): invoke, stream, usage, tool binding and calling, images, structured output, abort.
import { describe, expect, it } from 'vitest';
import { AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';
import { defineTool } from '@lookout/tools';
import type { ContentPart, ImagePart, LanguageModel } from '@lookout/runtime';
import { ScriptedModel, callTool, say } from '../testing/index.js';
import { ChatLookout } from './chat-lookout.js';
import { StructuredOutputError } from './errors.js';

const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');

describe('ChatLookout', () => {
  it('invokes: text, usage metadata, finish reason; system and history reach the model', async () => {
    const model = new ScriptedModel({ steps: [[...say('Hello there.', { chunk: 4 }), { type: 'finish', usage: { inputTokens: 11, outputTokens: 3, cachedInputTokens: 8 } }]] });
    const chat = new ChatLookout({ model, sampling: { maxTokens: 50 } });
    const out = await chat.invoke([new SystemMessage('Be kind.'), new HumanMessage('hi'), new AIMessage('hey'), new HumanMessage('how are you?')], { stop: ['\n\n'] });
    expect(out).toBeInstanceOf(AIMessageChunk);
    expect(out.content).toBe('Hello there.');
    expect(out.usage_metadata).toMatchObject({ input_tokens: 11, output_tokens: 3, total_tokens: 14, input_token_details: { cache_read: 8 } });
    expect(out.response_metadata.finish_reason).toBe('stop');
    expect(model.requests[0].messages).toEqual([
      { role: 'system', content: 'Be kind.' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hey' },
      { role: 'user', content: 'how are you?' },
    ]);
    expect(model.requests[0].sampling).toEqual({ maxTokens: 50, stop: ['\n\n'] });
  });

  it('streams chunk by chunk and the chunks add up to the answer', async () => {
    const chat = new ChatLookout({ model: new ScriptedModel({ steps: [say('one two three', { chunk: 3 })] }) });
    const chunks: AIMessageChunk[] = [];
    for await (const c of await chat.stream('count')) chunks.push(c);
    expect(chunks.filter((c) => c.content !== '').map((c) => c.content)).toEqual(['one', ' tw', 'o t', 'hre', 'e']);
    const total = chunks.reduce((a, b) => a.concat(b));
    expect(total.content).toBe('one two three');
    expect(total.usage_metadata?.output_tokens).toBe(5);
  });

  it('takes image_url blocks and standard image blocks, base64 and URL', async () => {
    const model = new ScriptedModel({ steps: [say('ok')] });
    const chat = new ChatLookout({ model });
    const b64 = png.toString('base64');
    await chat.invoke([
      new HumanMessage({
        content: [
          { type: 'image_url', image_url: { url: `data:image/png;base64,${b64}` } },
          { type: 'image_url', image_url: 'https://example.com/a.jpg' },
          { type: 'image', data: b64, mimeType: 'image/png' },
          { type: 'image', url: 'https://example.com/b.png' },
          { type: 'image', source_type: 'base64', data: b64, mime_type: 'image/png' },
          { type: 'text', text: 'Compare these.' },
        ],
      }),
    ]);
    const parts = model.requests[0].messages![0].content as ContentPart[];
    const images = parts.filter((p): p is ImagePart => p.type === 'image');
    expect(images).toHaveLength(5);
    for (const i of [0, 2, 4]) expect(Buffer.from(images[i].image as Uint8Array).equals(png)).toBe(true);
    expect(images[1].image).toBe('https://example.com/a.jpg');
    expect(images[3].image).toBe('https://example.com/b.png');
    expect(parts.at(-1)).toEqual({ type: 'text', text: 'Compare these.' });
  });

  it('refuses content blocks it cannot express with a typed error', async () => {
    const chat = new ChatLookout({ model: new ScriptedModel({ steps: [say('ok')] }) });
    await expect(chat.invoke([new HumanMessage({ content: [{ type: 'audio', data: 'AAAA', mimeType: 'audio/wav' }] })])).rejects.toMatchObject({
      code: 'langchain.unsupported_content',
    });
  });

  it('binds LangChain, OpenAI-format and Lookout tools, and returns tool calls that replay as history', async () => {
    const model = new ScriptedModel({ steps: [[callTool('get_weather', { city: 'Oslo' }, 'c1')], say('Sunny.')] });
    const chat = new ChatLookout({ model });
    const lcTool = tool(async ({ city }) => `sunny in ${city}`, { name: 'get_weather', description: 'Weather for a city', schema: z.object({ city: z.string() }) });
    const openaiTool = { type: 'function', function: { name: 'lookup', description: 'Look up', parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } } };
    const lookoutTool = defineTool({ name: 'zoom', description: 'Zoom into the image', input: z.object({ factor: z.number().min(1) }), execute: () => 'ok' });
    const bound = chat.bindTools([lcTool, openaiTool, lookoutTool]);
    const first = await bound.invoke('weather in Oslo?');
    expect(first.tool_calls).toEqual([{ id: 'c1', name: 'get_weather', args: { city: 'Oslo' }, type: 'tool_call' }]);
    expect(first.response_metadata.finish_reason).toBe('tool_calls');
    const tools = model.requests[0].tools!;
    expect(tools.map((t) => t.name)).toEqual(['get_weather', 'lookup', 'zoom']);
    expect(tools[0].parameters).toMatchObject({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] });
    expect(tools[2]).toEqual(lookoutTool.spec);
    const second = await bound.invoke([new HumanMessage('weather in Oslo?'), first, new ToolMessage({ tool_call_id: 'c1', content: 'sunny in Oslo' })]);
    expect(second.content).toBe('Sunny.');
    expect(model.requests[1].messages!.slice(1)).toEqual([
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: { city: 'Oslo' } }] },
      { role: 'tool', toolCallId: 'c1', name: 'get_weather', content: 'sunny in Oslo' },
    ]);
  });

  it('reports a malformed tool call as an invalid tool call', async () => {
    const chat = new ChatLookout({ model: new ScriptedModel({ steps: [[{ type: 'tool-call-error', raw: '{"name": "f", "parameters": {', message: 'bad JSON' }]] }) });
    const out = await chat.invoke('x');
    expect(out.tool_calls).toEqual([]);
    expect(out.invalid_tool_calls?.[0]).toMatchObject({ args: '{"name": "f", "parameters": {' });
  });

  it('withStructuredOutput returns zod-validated tool arguments and rejects ones that fail the schema', async () => {
    const schema = z.object({ item: z.string(), damaged: z.boolean() }).describe('Damage report');
    const good = new ChatLookout({ model: new ScriptedModel({ steps: [[callTool('extract', { item: 'mug', damaged: true })]], whenExhausted: 'repeat-last' }) });
    expect(await good.withStructuredOutput(schema).invoke('report')).toEqual({ item: 'mug', damaged: true });
    const bad = new ChatLookout({ model: new ScriptedModel({ steps: [[callTool('extract', { item: 'mug', damaged: 'yes' })]] }) });
    const err = await bad.withStructuredOutput(schema).invoke('report').catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(StructuredOutputError);
    expect(err.message).toContain('damaged');
    const raw = await good.withStructuredOutput(schema, { includeRaw: true }).invoke('report');
    expect(raw.parsed).toEqual({ item: 'mug', damaged: true });
    expect(raw.raw).toBeInstanceOf(AIMessageChunk);
  });

  it('stops the model when the AbortSignal fires', async () => {
    const model = new ScriptedModel({ steps: [say('a long answer that takes a while', { chunk: 2, delayMs: 20 })] });
    const chat = new ChatLookout({ model });
    const controller = new AbortController();
    const seen: string[] = [];
    const err = await (async () => {
      for await (const c of await chat.stream('go', { signal: controller.signal })) {
        seen.push(String(c.content));
        if (seen.length === 2) controller.abort();
      }
    })().catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(seen.length).toBeLessThan(5);
    await expect.poll(() => model.aborted).toBe(1);
  });

  it('asks for log-probabilities when configured and returns them in generationInfo', async () => {
    const requests: unknown[] = [];
    const model: LanguageModel = {
      id: 'lp',
      capabilities: { images: false, tools: false, logprobs: true, rawPrompt: false },
      async *stream(request) {
        requests.push(request.topLogprobs);
        yield { type: 'token', token: { token: 'safe', id: 19193, logprob: -0.1 }, top: [{ token: 'safe', id: 19193, logprob: -0.1 }, { token: 'unsafe', id: 39257, logprob: -2.4 }] };
        yield { type: 'text-delta', text: 'safe' };
        yield { type: 'finish', reason: 'stop', usage: { inputTokens: 3, outputTokens: 1 } };
      },
    };
    const chat = new ChatLookout({ model });
    const result = await chat.withConfig({ topLogprobs: 2 }).invoke('x');
    expect(requests).toEqual([2]);
    expect(result.content).toBe('safe');
    const gen = await chat.generate([[new HumanMessage('x')]], { topLogprobs: 2 } as never);
    expect(gen.generations[0][0].generationInfo?.logprobs).toEqual({
      content: [{ token: 'safe', id: 19193, logprob: -0.1, top_logprobs: [{ token: 'safe', id: 19193, logprob: -0.1 }, { token: 'unsafe', id: 39257, logprob: -2.4 }] }],
    });
  });

  it('has a model profile saying it takes images and tools', () => {
    const chat = new ChatLookout({ model: new ScriptedModel({ steps: [] }), maxInputTokens: 131072 });
    // A model that does not constrain its decoding claims neither forced tools nor native structured output.
    expect(chat.profile).toMatchObject({ imageInputs: true, imageUrlInputs: true, toolCalling: true, toolChoice: false, structuredOutput: false, maxInputTokens: 131072 });
    const textOnly = new ChatLookout({ model: new ScriptedModel({ steps: [], capabilities: { images: false } }) });
    expect(textOnly.profile.imageInputs).toBe(false);
  });
});
