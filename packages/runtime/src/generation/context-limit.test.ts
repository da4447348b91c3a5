// The model's context (max_position_embeddings) bounds a generation: the rotary tables of a
// fused build have exactly that many rows, so running past them must never reach onnxruntime.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, OnnxEngine } from '../onnx/index.js';
import { useTempDirs } from '../testing/temp-dirs.js';
import { writeTinyCheckpoint } from '../tiny/index.js';
import { generate } from './generate.js';
import { WorkerEngine } from './worker/worker-engine.js';

const CONTEXT = 24;
const temp = useTempDirs();
const decoder = { decode: () => '' };
const prompt = (n: number) => Array.from({ length: n }, (_, i) => 1000 + i);

describe(`a model with a ${CONTEXT}-position context`, () => {
  let engine: OnnxEngine;
  let build: string;
  beforeAll(async () => {
    const dir = temp('lookout-context-');
    await writeTinyCheckpoint(dir, { arch: 'llama', seed: 3, tokenizer: false });
    const configPath = join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), max_position_embeddings: CONTEXT }));
    build = (await buildModel(dir, { outDir: temp('lookout-context-onnx-') })).outDir;
    engine = await OnnxEngine.load(build);
  }, 60_000);
  afterAll(async () => engine?.dispose());

  it('ends a generation with "length" where the context is full, per token and in chunks', async () => {
    expect(engine.contextLength).toBe(CONTEXT);
    for (const decodeChunk of [1, 16]) {
      const r = await generate(engine, decoder, { inputIds: prompt(10), maxTokens: 100, decodeChunk, sampling: { temperature: 0 } });
      expect(r.tokenIds).toHaveLength(CONTEXT - 10);
      expect(r.finishReason).toBe('length');
    }
  });

  it('refuses a prompt that leaves no room for a reply with CONTEXT_EXCEEDED', async () => {
    await expect(generate(engine, decoder, { inputIds: prompt(CONTEXT), maxTokens: 4 })).rejects.toMatchObject({ code: 'CONTEXT_EXCEEDED', message: expect.stringMatching(/24 tokens.*holds 24 positions/) });
  });

  it('the engine itself refuses to run past the context (ONNX_CONTEXT_EXCEEDED), prefill and decode alike', async () => {
    await expect(engine.prefill(prompt(CONTEXT + 1))).rejects.toMatchObject({ code: 'ONNX_CONTEXT_EXCEEDED' });
    const session = await engine.prefill(prompt(CONTEXT - 4));
    await expect(session.greedy(5)).rejects.toMatchObject({ code: 'ONNX_CONTEXT_EXCEEDED' });
    expect(await session.greedy(4)).toHaveLength(4); // the refused run changed nothing
    await expect(session.step(1)).rejects.toMatchObject({ code: 'ONNX_CONTEXT_EXCEEDED' });
    session.dispose();
  });

  it('the worker engine reports the same context', async () => {
    const worker = await WorkerEngine.loadOnnx(build);
    try {
      expect(worker.contextLength).toBe(CONTEXT);
      const r = await generate(worker, decoder, { inputIds: prompt(20), maxTokens: 50 });
      expect(r.tokenIds).toHaveLength(CONTEXT - 20);
    } finally {
      await worker.dispose();
    }
  }, 60_000);
});
