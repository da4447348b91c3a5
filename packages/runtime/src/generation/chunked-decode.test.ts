// Multi-step decoding through the ONNX build's in-graph decode loop, on the shared tiny-text
// reference checkpoint: chunked greedy output must equal the per-token path and Hugging Face's
// tokens; eos, abort and the token budget are honoured between and inside chunks.
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelEvent } from '../model/types.js';
import { buildModel, chooseToken, OnnxEngine } from '../onnx/index.js';
import { LlamaTokenizer } from '../tokenizer/index.js';
import { decodeTokens } from './decode-loop.js';
import { newTally, type DecodePlan } from './decode-plan.js';
import { generate } from './generate.js';
import { OnnxModel } from './model/onnx-model.js';
import { seededRandom } from '../sampling/prng.js';
import { referenceGeneration, referenceModelDir, REFERENCE_MLLAMA_DIR as REFERENCE_ROOT, type ReferenceGeneration } from '../testing/reference-model-dir.js';

const hasReference = existsSync(path.join(REFERENCE_ROOT, 'tiny-text', 'model.safetensors'));

describe.skipIf(!hasReference)('chunked decoding with the in-graph loop (tiny-text, CPU)', () => {
  let dir: string;
  let engine: OnnxEngine;
  let tokenizer: LlamaTokenizer;
  let reference: ReferenceGeneration;

  beforeAll(async () => {
    reference = referenceGeneration('tiny-text');
    dir = referenceModelDir('tiny-text');
    const built = await buildModel(dir, { dtype: 'fp32' });
    expect(built.manifest.greedyLoop).toBe(true);
    engine = await OnnxEngine.load(dir, { intraOpThreads: 1 });
    tokenizer = await LlamaTokenizer.fromDirectory(dir);
  }, 120_000);
  afterAll(async () => {
    await engine?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (decodeChunk: number, extra: Partial<Parameters<typeof generate>[2]> = {}) =>
    generate(engine, tokenizer, { inputIds: reference.prompt_input_ids, maxTokens: 12, decodeChunk, ...extra });

  it('greedy in chunks equals the per-token path and the reference tokens, with fewer bytes', async () => {
    const perToken = await run(1);
    expect(perToken.tokenIds).toEqual(reference.new_token_ids);
    expect(perToken.decodeChunks).toBe(0);
    for (const chunk of [5, 16]) {
      const chunked = await run(chunk);
      expect(chunked.tokenIds).toEqual(reference.new_token_ids);
      expect(chunked.text).toBe(perToken.text);
      expect(chunked.finishReason).toBe('length');
      expect(chunked.decodeChunks).toBe(Math.ceil(12 / chunk));
      expect(chunked.stepTransferBytes).toBeLessThan(perToken.stepTransferBytes / 2);
    }
  });

  it('a greedy chunk through decode() equals the session\'s greedy(n) and the reference, state included', async () => {
    const a = await engine.prefill(reference.prompt_input_ids);
    const b = await engine.prefill(reference.prompt_input_ids);
    const viaGreedy = await a.greedy(7);
    const viaDecode = await b.decode(7, { temperature: 1, topK: 1, topP: 1 }, new Array<number>(7).fill(0.5));
    expect(viaDecode).toEqual(viaGreedy);
    expect(viaDecode).toEqual(reference.new_token_ids.slice(0, 7));
    expect(b.length).toBe(a.length);
    expect(Array.from(b.logits)).toEqual(Array.from(a.logits));
    expect(await b.step(reference.new_token_ids[7])).toEqual(await a.step(reference.new_token_ids[7]));
    a.dispose();
    b.dispose();
  });

  it('stops exactly at an eos inside a chunk and drops the tokens after it', async () => {
    const ids = reference.new_token_ids;
    // An id whose first occurrence is in the middle of the first 8-token chunk.
    const at = ids.findIndex((id, i) => i >= 2 && i < 7 && ids.indexOf(id) === i);
    expect(at).toBeGreaterThan(0);
    const result = await run(8, { eosIds: [ids[at]] });
    expect(result.tokenIds).toEqual(ids.slice(0, at));
    expect(result.finishReason).toBe('eos');
    expect(result.eosId).toBe(ids[at]);
    expect(result.decodeChunks).toBe(1);
  });

  it('ends on a stop string found inside a chunk exactly as the per-token path does', async () => {
    const full = tokenizer.decode(reference.new_token_ids);
    // A stop string that starts in the middle of the generated text.
    const stop = full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 3);
    expect(stop.length).toBe(3);
    const perToken = await run(1, { stop: [stop] });
    const chunked = await run(8, { stop: [stop] });
    expect(chunked.finishReason).toBe('stop');
    expect(chunked.text).toBe(perToken.text);
    expect(chunked.tokenIds).toEqual(perToken.tokenIds);
    expect(full.startsWith(chunked.text)).toBe(true);
    expect(chunked.text.length).toBeLessThan(full.length / 2 + 1);
  });

  it('checks the abort signal between chunks', async () => {
    const controller = new AbortController();
    const plan: DecodePlan = { inputIds: reference.prompt_input_ids, sampling: { seed: 1 }, eosIds: [], maxTokens: 12, decodeChunk: 4 };
    const tally = newTally();
    const seen: number[] = [];
    // Keep iterating after the abort: the loop itself must not start the next chunk.
    for await (const token of decodeTokens(engine, plan, tally, controller.signal)) {
      seen.push(token.id);
      if (seen.length === 3) controller.abort();
    }
    expect(seen).toEqual(reference.new_token_ids.slice(0, 4));
    expect(tally.finishReason).toBe('abort');
    expect(tally.chunks).toBe(1);
  });

  it('streams one text delta per chunk', async () => {
    const deltas: string[] = [];
    const result = await run(4, { onText: (d) => void deltas.push(d) });
    expect(deltas.join('')).toBe(result.text);
    expect(deltas.length).toBeLessThanOrEqual(3);
    const perToken: string[] = [];
    await run(1, { onText: (d) => void perToken.push(d) });
    expect(perToken.join('')).toBe(result.text);
    expect(deltas.length).toBeLessThan(perToken.length);
  });

  it('seeded sampling gives the same tokens at every chunk size, and matches chooseToken step by step', async () => {
    const sampling = { temperature: 0.9, topK: 40, topP: 0.95, seed: 1234 };
    const a = await run(4, { sampling, maxTokens: 24 });
    const b = await run(7, { sampling, maxTokens: 24 });
    const c = await run(24, { sampling, maxTokens: 24 });
    expect(a.tokenIds).toHaveLength(24);
    expect(b.tokenIds).toEqual(a.tokenIds);
    expect(c.tokenIds).toEqual(a.tokenIds);
    expect(a.seed).toBe(1234);
    // The same draws replayed one step() at a time with the JS twin of the in-graph sampler.
    const random = seededRandom(1234);
    const session = await engine.prefill(reference.prompt_input_ids);
    const replay: number[] = [];
    let logits = session.logits;
    for (let i = 0; i < 24; i++) {
      replay.push(chooseToken(logits, sampling, random.next()));
      logits = await session.step(replay[i]);
    }
    session.dispose();
    expect(a.tokenIds).toEqual(replay);
    // Different seeds draw differently (the uniforms really reach the graph).
    const other = await run(4, { sampling: { ...sampling, seed: 99 }, maxTokens: 24 });
    expect(other.tokenIds).not.toEqual(a.tokenIds);
  });

  it('samples without a top-k cut in chunks: the JS first token exactly, the in-graph ones up to f32 rounding', async () => {
    const params = { temperature: 1.3, topK: 0, topP: 0.97 };
    const chunked = await run(8, { sampling: { ...params, seed: 3 } });
    expect(chunked.decodeChunks).toBe(2);
    expect(chunked.tokenIds).toHaveLength(12);
    expect((await run(8, { sampling: { ...params, seed: 3 } })).tokenIds).toEqual(chunked.tokenIds);
    // Replay the same draws over the chunked tokens. The first token of each chunk is chosen by
    // chooseToken itself; the graph walks its CDF in f32 over 128,256 near-equal probabilities
    // (this checkpoint's logits are almost flat), so it may land on a neighbour of the f64 choice:
    // its token must lie between the f64 choices for u -/+ 1e-4.
    const random = seededRandom(3);
    const session = await engine.prefill(reference.prompt_input_ids);
    expect(session.logits.length).toBe(128_256);
    let logits = session.logits;
    for (let i = 0; i < 12; i++) {
      const u = random.next();
      const token = chunked.tokenIds[i];
      if (i % 8 === 0) expect(token).toBe(chooseToken(logits, params, u));
      else {
        const order = Array.from({ length: logits.length }, (_, j) => j).sort((a, b) => logits[b] - logits[a] || a - b);
        const rank = new Map(order.map((id, r) => [id, r]));
        const lo = rank.get(chooseToken(logits, params, Math.max(0, u - 1e-4)))!;
        const hi = rank.get(chooseToken(logits, params, Math.min(1 - Number.EPSILON, u + 1e-4)))!;
        expect(rank.get(token)).toBeGreaterThanOrEqual(lo);
        expect(rank.get(token)).toBeLessThanOrEqual(hi);
      }
      logits = await session.step(token);
    }
    session.dispose();
  });

  it('applies a repetition penalty in the graph: greedy in chunks equals the per-token path', async () => {
    // A penalty below 1 favours ids already seen, which changes this model's greedy text.
    const perToken = await run(1, { sampling: { repetitionPenalty: 0.3 } });
    const chunked = await run(5, { sampling: { repetitionPenalty: 0.3 } });
    expect(chunked.decodeChunks).toBe(3);
    expect(chunked.tokenIds).toEqual(perToken.tokenIds);
    expect(chunked.tokenIds).not.toEqual(reference.new_token_ids); // the penalty changed the text
  });

  it('returns log-probabilities from the loop: the per-token path\'s tokens, log-probabilities to 1e-4 (f32 in the graph)', async () => {
    const tokens: Array<{ id: number; logprob?: number; top?: Array<{ id: number; logprob: number }> }>[] = [[], []];
    const a = await run(1, { topLogprobs: 3, onToken: (t) => void tokens[0].push(t) });
    const b = await run(5, { topLogprobs: 3, onToken: (t) => void tokens[1].push(t) });
    expect(a.decodeChunks).toBe(0);
    expect(b.decodeChunks).toBe(3);
    expect(b.tokenIds).toEqual(a.tokenIds);
    expect(b.tokenIds).toEqual(reference.new_token_ids);
    expect(tokens[1]).toHaveLength(12);
    tokens[1].forEach((t, i) => {
      const ref = tokens[0][i];
      expect(t.id).toBe(ref.id);
      expect(t.logprob).toBeCloseTo(ref.logprob!, 4);
      expect(t.top!.map((x) => x.id)).toEqual(ref.top!.map((x) => x.id));
      t.top!.forEach((x, j) => expect(x.logprob).toBeCloseTo(ref.top![j].logprob, 4));
    });
  });

  it('rejects a decodeChunk that is not a positive integer', async () => {
    await expect(run(0)).rejects.toMatchObject({ code: 'INVALID_GENERATION_REQUEST' });
    await expect(run(2.5)).rejects.toMatchObject({ code: 'INVALID_GENERATION_REQUEST' });
  });

  it('OnnxModel (engine in a worker) decodes in chunks and reproduces the reference text', async () => {
    const model = await OnnxModel.load(dir, { intraOpThreads: 1, decodeChunk: 6 });
    try {
      const text = tokenizer.decode(reference.prompt_input_ids.slice(1));
      const events: ModelEvent[] = [];
      for await (const e of model.stream({
        prompt: [
          { type: 'template', text: '<|begin_of_text|>' },
          { type: 'content', text },
        ],
        sampling: { maxTokens: 12 },
      }))
        events.push(e);
      const deltas = events.filter((e) => e.type === 'text-delta');
      expect(deltas.map((e) => (e.type === 'text-delta' ? e.text : '')).join('')).toBe(tokenizer.decode(reference.new_token_ids));
      expect(deltas.length).toBeLessThanOrEqual(2);
      expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'length', usage: { outputTokens: 12 } });
      // Through generate() on the worker engine: the chunks were run by the worker's loop.
      const result = await generate(model.engine, tokenizer, { inputIds: reference.prompt_input_ids, maxTokens: 12, decodeChunk: 5 });
      expect(result.tokenIds).toEqual(reference.new_token_ids);
      expect(result.decodeChunks).toBe(3);
    } finally {
      await model.dispose();
    }
    await expect(OnnxModel.load(dir, { decodeChunk: 0 })).rejects.toMatchObject({ code: 'INVALID_GENERATION_REQUEST' });
  }, 60_000);
});

describe.skipIf(!hasReference)('chunked decoding with an image (tiny-a, CPU)', () => {
  it('gives the same greedy reply as one run per token', async () => {
    const dir = referenceModelDir('tiny-a');
    const image = path.join(REFERENCE_ROOT, '../image_processor/images/img0_300x200_rgb.png');
    const reply = async (decodeChunk: number) => {
      const model = await OnnxModel.load(dir, { intraOpThreads: 1, worker: false, decodeChunk });
      try {
        let text = '';
        let finish: ModelEvent | undefined;
        for await (const e of model.stream({
          messages: [{ role: 'user', content: [{ type: 'image', image }, { type: 'text', text: 'What is this?' }] }],
          sampling: { maxTokens: 12 },
        })) {
          if (e.type === 'text-delta') text += e.text;
          if (e.type === 'finish') finish = e;
        }
        return { text, finish };
      } finally {
        await model.dispose();
      }
    };
    try {
      const perToken = await reply(1);
      const chunked = await reply(5);
      expect(chunked.text).toBe(perToken.text);
      expect(chunked.finish).toEqual(perToken.finish);
      expect(perToken.text.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
