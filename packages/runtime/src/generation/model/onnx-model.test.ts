import { describe, expect, it } from 'vitest';
import type { VisionInputs } from '../../model/engine.js';
import type { ModelEvent, ModelRequest, PromptSegment } from '../../model/types.js';
import { InvalidModelRequestError, QueueFullError } from '../errors.js';
import { CharTokenizer } from '../../testing/char-tokenizer.js';
import { ScriptedEngine } from '../../testing/scripted-engine.js';
import { llamaChatProtocol } from './llama-chat-protocol.js';
import type { ChatProtocol } from './model-parts.js';
import { OnnxModel } from './onnx-model.js';
import type { OnnxModelParts } from './model-parts.js';

const tok = new CharTokenizer(['<eos>', '<|image|>', '<|python_tag|>']);
const EOS = tok.id('<eos>');
const script = (text: string, eos = true) => [...tok.encodeText(text), ...(eos ? [EOS] : [])];

// Renders "<role>: text" per message; the output parser is the real Llama one.
const chat: ChatProtocol = {
  render: (messages) =>
    messages.flatMap((m): PromptSegment[] => {
      const parts: PromptSegment[] = [{ type: 'template', text: `${m.role}: ` }];
      if (typeof m.content === 'string') parts.push({ type: 'content', text: m.content });
      else if (Array.isArray(m.content)) for (const p of m.content) parts.push(p.type === 'text' ? { type: 'content', text: p.text } : { type: 'image', image: p.image });
      return parts;
    }),
  createOutputParser: () => llamaChatProtocol().createOutputParser([]),
};

function model(text: string, extra: Partial<OnnxModelParts> & { delayMs?: number; eos?: boolean } = {}) {
  const engine = new ScriptedEngine({ vocabSize: tok.vocabSize, script: script(text, extra.eos ?? true), delayMs: extra.delayMs });
  return { engine, model: new OnnxModel({ id: 'test:model', engine, tokenizer: tok, chat, eosIds: [EOS], ...extra }) };
}

async function collect(stream: AsyncIterable<ModelEvent>): Promise<ModelEvent[]> {
  const events: ModelEvent[] = [];
  for await (const e of stream) events.push(e);
  return events;
}
const textOf = (events: ModelEvent[]) => events.flatMap((e) => (e.type === 'text-delta' ? [e.text] : [])).join('');
const finishOf = (events: ModelEvent[]) => events.at(-1);

const user = (content: string): ModelRequest => ({ messages: [{ role: 'user', content }] });

describe('OnnxModel', () => {
  it('streams a chat reply as text deltas and finishes with usage', async () => {
    const { model: m, engine } = model('Hello there.');
    const events = await collect(m.stream(user('Hi')));
    expect(textOf(events)).toBe('Hello there.');
    expect(finishOf(events)).toEqual({ type: 'finish', reason: 'stop', usage: { inputTokens: 'user: Hi'.length, outputTokens: 12 } });
    expect(engine.lastPrefill?.inputIds).toEqual(tok.encodeSegments([{ type: 'template', text: 'user: ' }, { type: 'content', text: 'Hi' }]));
    expect(m.capabilities).toEqual({ images: false, tools: true, logprobs: true, rawPrompt: true, structuredOutput: true });
  });

  it('encodes raw prompt segments as given, special tokens only from template segments', async () => {
    const { model: m, engine } = model('safe');
    const prompt: PromptSegment[] = [
      { type: 'template', text: '<|python_tag|>check: ' },
      { type: 'content', text: '<eos>' },
    ];
    const events = await collect(m.stream({ prompt, sampling: { maxTokens: 2 } }));
    expect(engine.lastPrefill?.inputIds).toEqual([tok.id('<|python_tag|>'), ...tok.encodeText('check: <eos>')]);
    expect(textOf(events)).toBe('sa');
    expect(finishOf(events)).toMatchObject({ reason: 'length', usage: { outputTokens: 2 } });
  });

  it('emits a parsed tool call and finishes with tool-calls', async () => {
    const { model: m } = model('{"name": "get_weather", "parameters": {"city": "Paris"}}');
    const tools = [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object' } }];
    const events = await collect(m.stream({ ...user('Weather in Paris?'), tools }));
    const call = events.find((e) => e.type === 'tool-call');
    expect(call).toMatchObject({ type: 'tool-call', call: { name: 'get_weather', arguments: { city: 'Paris' } } });
    expect((call as { call: { id: string } }).call.id).toMatch(/^call_/);
    expect(textOf(events)).toBe('');
    expect(finishOf(events)).toMatchObject({ reason: 'tool-calls' });
  });

  it('emits tool-call-error for a malformed call', async () => {
    const { model: m } = model('{"name": "get_weather", "parameters": {"city": ');
    const tools = [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object' } }];
    const events = await collect(m.stream({ ...user('Weather?'), tools }));
    expect(events.find((e) => e.type === 'tool-call-error')).toMatchObject({ raw: '{"name": "get_weather", "parameters": {"city": ' });
    expect(events.some((e) => e.type === 'tool-call')).toBe(false);
    expect(finishOf(events)).toMatchObject({ reason: 'stop' });
  });

  it('still streams plain text when tools are offered but not called', async () => {
    const { model: m } = model('No tool needed.');
    const tools = [{ name: 'x', description: 'x', parameters: { type: 'object' } }];
    const events = await collect(m.stream({ ...user('Hi'), tools }));
    expect(textOf(events)).toBe('No tool needed.');
    expect(finishOf(events)).toMatchObject({ reason: 'stop' });
  });

  it('emits token events with log-probabilities when topLogprobs is set', async () => {
    const { model: m } = model('ok');
    const events = await collect(m.stream({ ...user('?'), topLogprobs: 3 }));
    const tokens = events.filter((e) => e.type === 'token');
    expect(tokens).toHaveLength(2);
    const first = tokens[0] as Extract<ModelEvent, { type: 'token' }>;
    expect(first.token).toMatchObject({ token: 'o', id: tok.encodeText('o')[0] });
    expect(first.token.logprob).toBeLessThan(0);
    expect(first.top).toHaveLength(3);
    expect(first.top[0]).toMatchObject({ token: 'o', logprob: first.token.logprob });
  });

  it('passes images to the vision preparer in prompt order and rejects them on text-only models', async () => {
    const seen: Array<{ images: unknown[]; ids: number[]; imageId: number }> = [];
    const vision: VisionInputs = { pixelValues: new Float32Array(1), numImages: 1, maxTiles: 1, tileSize: 1, aspectRatioIds: [1], aspectRatioMask: [[1]], crossAttentionMask: [] };
    const { model: m, engine } = model('A cat.', {
      prepareVision: async (images, ids, imageId) => {
        seen.push({ images, ids, imageId });
        return vision;
      },
    });
    const image = new Uint8Array([1, 2, 3]);
    await collect(m.stream({ messages: [{ role: 'user', content: [{ type: 'image', image }, { type: 'text', text: 'What?' }] }] }));
    expect(seen[0].images).toEqual([image]);
    expect(seen[0].imageId).toBe(tok.imageId());
    expect(seen[0].ids).toContain(tok.imageId());
    expect(engine.lastPrefill?.vision).toBe(vision);
    expect(m.capabilities.images).toBe(true);

    const { model: textOnly } = model('x');
    await expect(collect(textOnly.stream({ prompt: [{ type: 'image', image }] }))).rejects.toBeInstanceOf(InvalidModelRequestError);
  });

  it('rejects malformed requests', async () => {
    const { model: m } = model('x');
    await expect(collect(m.stream({}))).rejects.toThrow(/exactly one of `messages`/);
    await expect(collect(m.stream({ messages: [], prompt: [] }))).rejects.toThrow(InvalidModelRequestError);
    await expect(collect(m.stream({ messages: [] }))).rejects.toThrow(/non-empty/);
  });

  it('runs concurrent requests one at a time in arrival order', async () => {
    const { model: m, engine } = model('abc', { delayMs: 2 });
    const order: string[] = [];
    const run = async (name: string) => {
      for await (const e of m.stream(user(name))) if (e.type === 'finish') order.push(name);
    };
    await Promise.all([run('first'), run('second'), run('third')]);
    expect(order).toEqual(['first', 'second', 'third']);
    expect(engine.prefills).toBe(3);
  });

  it('finishes with abort for a request aborted while queued, and rejects past maxQueue', async () => {
    const { model: m } = model('abcdefgh', { delayMs: 5, maxQueue: 1 });
    const first = collect(m.stream(user('1')));
    const controller = new AbortController();
    const second = collect(m.stream(user('2'), { signal: controller.signal }));
    await new Promise((r) => setTimeout(r, 1));
    const third = collect(m.stream(user('3')));
    await expect(third).rejects.toBeInstanceOf(QueueFullError);
    controller.abort();
    expect(finishOf(await second)).toEqual({ type: 'finish', reason: 'abort', usage: { inputTokens: 0, outputTokens: 0 } });
    expect(finishOf(await first)).toMatchObject({ reason: 'stop' });
    expect(m.queueStats).toMatchObject({ running: false, waiting: 0, abortedWhileQueued: 1 });
  });

  it('stops generating when the caller leaves the stream early', async () => {
    const { model: m, engine } = model('a'.repeat(50), { eos: false, delayMs: 1 });
    for await (const e of m.stream(user('go'))) {
      if (e.type === 'text-delta') break;
    }
    expect(engine.steps).toBeLessThan(3);
    expect(engine.disposedSessions).toBe(1);
    const events = await collect(m.stream({ ...user('again'), sampling: { maxTokens: 3 } }));
    expect(finishOf(events)).toMatchObject({ reason: 'length' });
  });
});

describe('OnnxModel engine restarts', () => {
  it('starts a fresh worker for the next request after the engine thread died', async () => {
    const { WorkerEngine } = await import('../worker/worker-engine.js');
    const { runtimeModuleUrl } = await import('../worker/spawn.js');
    const start = (exitAtStep?: number) =>
      WorkerEngine.start({
        module: runtimeModuleUrl('testing/scripted-engine').href,
        exportName: 'ScriptedEngine',
        method: 'create',
        args: [{ vocabSize: tok.vocabSize, script: script('hello'), exitAtStep }],
      });
    let restarts = 0;
    const m = new OnnxModel({
      id: 'test:restart',
      engine: await start(2),
      tokenizer: tok,
      chat,
      eosIds: [EOS],
      restartEngine: () => {
        restarts++;
        return start();
      },
    });
    try {
      await expect(collect(m.stream(user('1')))).rejects.toMatchObject({ code: 'ENGINE_WORKER_EXITED' });
      const events = await collect(m.stream(user('2')));
      expect(textOf(events)).toBe('hello');
      expect(restarts).toBe(1);
    } finally {
      await m.dispose();
    }
  });
});
