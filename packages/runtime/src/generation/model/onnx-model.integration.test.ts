// OnnxModel over the real ONNX engine in a worker thread, on the shared tiny reference
// checkpoints: graphs are built on first load, and greedy decoding must reproduce the tokens
// Hugging Face transformers generated for the same weights and prompt.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, ModelEvent } from '../../model/types.js';
import { ProcessedImageCache } from '../../images/index.js';
import { buildModel, OnnxEngine } from '../../onnx/index.js';
import { writeTinyCheckpoint } from '../../tiny/index.js';
import { LlamaTokenizer } from '../../tokenizer/index.js';
import { ExecutionProviderUnavailableError, InvalidModelRequestError, ModelNotBuiltError } from '../errors.js';
import { cudaProviderLibrary } from './providers.js';
import { generate } from '../generate.js';
import { referenceGeneration, referenceModelDir, REFERENCE_MLLAMA_DIR as REFERENCE_ROOT, type ReferenceGeneration } from '../../testing/reference-model-dir.js';
import { WorkerEngine } from '../worker/worker-engine.js';
import { OnnxModel } from './onnx-model.js';
import { defaultDtype } from './load-onnx-model.js';

const dirs: string[] = [];
const newDir = (name: 'tiny-text' | 'tiny-a') => {
  const dir = referenceModelDir(name);
  dirs.push(dir);
  return dir;
};

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// The shared reference checkpoints live beside the repository (../shared/reference).
const hasReference = existsSync(path.join(REFERENCE_ROOT, 'tiny-text', 'model.safetensors'));

async function tinyLlamaDir(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lookout-tiny-llama-'));
  dirs.push(dir);
  await writeTinyCheckpoint(dir, { arch: 'llama', seed: 5 });
  return dir;
}

describe.skipIf(!hasReference)('OnnxModel on tiny-text (worker thread, CPU)', () => {
  let model: OnnxModel;
  let modelDir: string;
  let reference: ReferenceGeneration;

  beforeAll(async () => {
    reference = referenceGeneration('tiny-text');
    modelDir = newDir('tiny-text');
    model = await OnnxModel.load(modelDir, { intraOpThreads: 1 });
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it('builds the graphs on first load and runs the engine in a worker', () => {
    expect(model.engine).toBeInstanceOf(WorkerEngine);
    expect(model.engine.vocabSize).toBe(128256);
    expect(model.id).toMatch(/^mllama:/);
  });

  it('reproduces the reference greedy tokens through generate()', async () => {
    const result = await generate(model.engine, { decode: () => '' }, { inputIds: reference.prompt_input_ids, maxTokens: 12 });
    expect(result.tokenIds).toEqual(reference.new_token_ids);
    expect(result.finishReason).toBe('length');
  });

  it('streams a raw prompt with token log-probabilities matching the reference tokens', async () => {
    // A raw prompt that encodes to exactly the reference ids: BOS as template, the rest as text.
    const tok = await LlamaTokenizer.fromDirectory(modelDir);
    const text = tok.decode(reference.prompt_input_ids.slice(1));
    expect(tok.encodeSegments([{ type: 'template', text: '<|begin_of_text|>' }, { type: 'content', text }])).toEqual(reference.prompt_input_ids);
    const events: ModelEvent[] = [];
    for await (const e of model.stream({
      prompt: [
        { type: 'template', text: '<|begin_of_text|>' },
        { type: 'content', text },
      ],
      sampling: { maxTokens: 4 },
      topLogprobs: 2,
    }))
      events.push(e);
    const tokens = events.filter((e): e is Extract<ModelEvent, { type: 'token' }> => e.type === 'token');
    expect(tokens).toHaveLength(4);
    for (const t of tokens) {
      expect(t.token.logprob).toBeLessThanOrEqual(0);
      expect(t.top[0].logprob).toBeGreaterThanOrEqual(t.token.logprob);
    }
    expect(tokens.map((t) => t.token.id)).toEqual(reference.new_token_ids.slice(0, 4));
    const deltas = events.flatMap((e) => (e.type === 'text-delta' ? [e.text] : [])).join('');
    expect(deltas).toBe(tok.decode(reference.new_token_ids.slice(0, 4), { skipSpecial: true }));
    // (an earlier test sent the same prompt, so usage may also count cached prompt tokens)
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'length', usage: { inputTokens: reference.prompt_input_ids.length, outputTokens: 4 } });
  });

  it('answers a chat message and keeps the event loop free while the worker computes', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const events: ModelEvent[] = [];
    for await (const e of model.stream({ messages: [{ role: 'user', content: 'Hello!' }], sampling: { maxTokens: 6, temperature: 0.8, seed: 1 } })) events.push(e);
    clearInterval(timer);
    expect(events.at(-1)).toMatchObject({ type: 'finish', usage: { outputTokens: expect.any(Number) } });
    expect(ticks).toBeGreaterThan(0);
  });
});

describe.skipIf(!hasReference)('OnnxModel on tiny-a (image input)', () => {
  it('runs the vision path for a chat message with an image', async () => {
    const model = await OnnxModel.load(newDir('tiny-a'), { intraOpThreads: 1 });
    try {
      expect(model.capabilities.images).toBe(true);
      const image = path.join(REFERENCE_ROOT, '../image_processor/images/img0_300x200_rgb.png');
      const events: ModelEvent[] = [];
      for await (const e of model.stream({
        messages: [{ role: 'user', content: [{ type: 'image', image }, { type: 'text', text: 'What is this?' }] }],
        sampling: { maxTokens: 3 },
      }))
        events.push(e);
      expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'length', usage: { outputTokens: 3 } });
    } finally {
      await model.dispose();
    }
  });
});

describe.skipIf(!hasReference)('OnnxModel images are processed once', () => {
  it('the steps of a conversation that resend a photo reuse its processed tiles, with the same result', async () => {
    const imageCache = new ProcessedImageCache();
    const dir = newDir('tiny-a');
    const cached = await OnnxModel.load(dir, { intraOpThreads: 1, imageCache });
    const uncached = await OnnxModel.load(dir, { intraOpThreads: 1, imageCache: false });
    try {
      const photo = new Uint8Array(readFileSync(path.join(REFERENCE_ROOT, '../image_processor/images/img0_300x200_rgb.png')));
      const user = { role: 'user' as const, content: [{ type: 'image' as const, image: photo }, { type: 'text' as const, text: 'What is this?' }] };
      const reply = async (model: OnnxModel, messages: ChatMessage[]) => {
        let text = '';
        for await (const e of model.stream({ messages, sampling: { maxTokens: 3 } })) if (e.type === 'text-delta') text += e.text;
        return text;
      };
      // Three steps of one turn: each request carries the whole conversation, photo included.
      const conversation: ChatMessage[] = [user];
      const texts: string[] = [];
      for (let step = 0; step < 3; step++) {
        const text = await reply(cached, conversation);
        texts.push(text, await reply(uncached, conversation));
        conversation.push({ role: 'assistant', content: text }, { role: 'user', content: 'And then?' });
      }
      expect(imageCache.misses).toBe(1);
      expect(imageCache.hits).toBe(2);
      // Cached tiles give exactly what fresh processing gives.
      for (let i = 0; i < texts.length; i += 2) expect(texts[i]).toBe(texts[i + 1]);
    } finally {
      await cached.dispose();
      await uncached.dispose();
    }
  });
});

describe('OnnxModel on a tiny Llama checkpoint (writeTinyCheckpoint)', () => {
  it('gives the same seeded reply with the engine on this thread and in the worker', async () => {
    const dir = await tinyLlamaDir();
    const request = { messages: [{ role: 'user' as const, content: 'Tell me a story.' }], sampling: { maxTokens: 8, temperature: 0.9, topP: 0.95, seed: 42 } };
    const run = async (model: OnnxModel) => {
      const events: ModelEvent[] = [];
      for await (const e of model.stream(request)) events.push(e);
      return events;
    };
    const local = await OnnxModel.load(dir, { worker: false });
    const inWorker = await OnnxModel.load(dir);
    try {
      expect(local.engine).toBeInstanceOf(OnnxEngine);
      expect(inWorker.engine).toBeInstanceOf(WorkerEngine);
      expect(local.id).toMatch(/^llama:/);
      expect(local.capabilities.images).toBe(false);
      const a = await run(local);
      const b = await run(inWorker);
      expect(b).toEqual(a);
      // The seed reproduces (the second run reuses the first's KV cache, which usage reports).
      const again = await run(local);
      expect(again.at(-1)).toMatchObject({ type: 'finish', usage: { cachedInputTokens: expect.any(Number) } });
      expect(again.slice(0, -1)).toEqual(a.slice(0, -1));
      expect(a.at(-1)).toMatchObject({ type: 'finish', usage: { outputTokens: expect.any(Number) } });
      await expect(run2(local)).rejects.toBeInstanceOf(InvalidModelRequestError);
    } finally {
      await local.dispose();
      await inWorker.dispose();
    }
    async function run2(model: OnnxModel) {
      for await (const _ of model.stream({ messages: [{ role: 'user', content: [{ type: 'image', image: new Uint8Array([1]) }] }] })) void _;
    }
  });
});

describe('OnnxModel reports what the prefix cache saved', () => {
  it('a repeated conversation reuses the first one\'s KV cache and says so in usage.cachedInputTokens', async () => {
    const model = await OnnxModel.load(await tinyLlamaDir(), { worker: true });
    try {
      const request = { messages: [{ role: 'user' as const, content: 'Where is my parcel?' }], sampling: { maxTokens: 3, temperature: 0 } };
      const usage = async () => {
        let u: { inputTokens: number; cachedInputTokens?: number } | undefined;
        for await (const e of model.stream(request)) if (e.type === 'finish') u = e.usage;
        return u!;
      };
      const first = await usage();
      expect(first.cachedInputTokens).toBeUndefined();
      const second = await usage();
      expect(second.cachedInputTokens).toBe(second.inputTokens - 1);
    } finally {
      await model.dispose();
    }
  }, 120_000);
});

describe('OnnxModel.load picks the build that is there', () => {
  it('uses an existing int4 build when no dtype is named, and defaults to fp32 on CPU and fp16 on CUDA when there is none', async () => {
    const dir = await tinyLlamaDir();
    expect(defaultDtype(dir, 'cpu')).toBe('fp32');
    expect(defaultDtype(dir, 'cuda')).toBe('fp16');
    await buildModel(dir, { dtype: 'int4' });
    expect(defaultDtype(dir, 'cpu')).toBe('int4');
    expect(defaultDtype(dir, 'cuda')).toBe('int4');
    // Loading without a dtype runs that build instead of building fp32 beside it.
    const model = await OnnxModel.load(dir, { worker: false });
    try {
      expect(existsSync(path.join(dir, 'onnx-fp32'))).toBe(false);
      let finished = false;
      for await (const e of model.stream({ messages: [{ role: 'user', content: 'hi' }], sampling: { maxTokens: 2, temperature: 0 } })) {
        if (e.type === 'finish') finished = e.usage.outputTokens > 0;
      }
      expect(finished).toBe(true);
    } finally {
      await model.dispose();
    }
    await buildModel(dir, { dtype: 'fp16' });
    expect(defaultDtype(dir, 'cpu')).toBe('int4');
    expect(defaultDtype(dir, 'cuda')).toBe('fp16');
  }, 120_000);
});

describe('OnnxModel.load errors', () => {
  it("fails with MODEL_NOT_BUILT and names `lookout build` when build is 'never'", async () => {
    const load = OnnxModel.load(await tinyLlamaDir(), { build: 'never' });
    await expect(load).rejects.toBeInstanceOf(ModelNotBuiltError);
    await expect(load).rejects.toThrow(/lookout build .* --dtype fp32/);
  });

  it.skipIf(existsSync(cudaProviderLibrary()))('names pnpm cuda:install when CUDA is asked for but not installed', async () => {
    const load = OnnxModel.load(await tinyLlamaDir(), { executionProvider: 'cuda' });
    await expect(load).rejects.toBeInstanceOf(ExecutionProviderUnavailableError);
    await expect(load).rejects.toThrow(/pnpm cuda:install/);
  });

  it('fails clearly for a directory without config.json', async () => {
    await expect(OnnxModel.load('/nonexistent/model')).rejects.toMatchObject({ code: 'MODEL_NOT_BUILT' });
  });
});
