// Chunked constrained decoding on a tiny randomly initialised Llama checkpoint (in-graph decode
// loop, CPU): greedy output is token for token the per-token constrained path's, for a schema
// whose free-text strings give long accepted runs, one where nearly every model token is refused,
// a mixed one and a forced tool call, on this thread and through the engine worker; sampled
// output is valid and reproducible from its seed; a top-p cut and sampling without a top-k cut
// keep the per-token path; a session rewound after a chunk gives the logits (to float rounding) of one fed token by
// token.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConstraint, type ConstraintSpec } from '../constraints/request-grammar.js';
import type { SamplingSettings } from '../model/types.js';
import { buildModel, OnnxEngine } from '../onnx/index.js';
import { maxAbsDiff } from '../onnx/verify.js';
import { writeTinyCheckpoint } from '../tiny/index.js';
import { LlamaTokenizer } from '../tokenizer/index.js';
import type { ForwardEngine } from '../model/engine.js';
import { generate } from './generate.js';
import { argmax } from '../sampling/index.js';
import { WorkerEngine } from './worker/worker-engine.js';
import { STRUCTURE_ONLY_SCHEMA } from '../testing/constraint-schemas.js';

/** Two free-text strings: random weights write long runs of allowed tokens inside them. */
const NOTE = {
  type: 'object',
  properties: { title: { type: 'string' }, body: { type: 'string' } },
  required: ['title', 'body'],
  additionalProperties: false,
};

const ORDER = {
  type: 'object',
  properties: {
    customer: { type: 'string' },
    priority: { enum: ['low', 'normal', 'urgent'] },
    items: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' }, qty: { type: 'integer' } }, required: ['sku', 'qty'], additionalProperties: false } },
    total: { type: 'number' },
  },
  required: ['customer', 'priority', 'items', 'total'],
  additionalProperties: false,
};

const REFUND_TOOL = {
  name: 'refund',
  description: 'Refund an order',
  parameters: { type: 'object', properties: { order_id: { type: 'integer' }, reason: { type: 'string' }, partial: { type: 'boolean' } }, required: ['order_id', 'reason'] },
};

const CASES: Array<{ name: string; spec: ConstraintSpec; schema?: object; maxTokens: number }> = [
  { name: 'free-text strings', spec: { responseFormat: { type: 'json_schema', schema: NOTE } }, schema: NOTE, maxTokens: 160 },
  { name: 'structure only', spec: { responseFormat: { type: 'json_schema', schema: STRUCTURE_ONLY_SCHEMA } }, schema: STRUCTURE_ONLY_SCHEMA, maxTokens: 120 },
  { name: 'mixed order', spec: { responseFormat: { type: 'json_schema', schema: ORDER } }, schema: ORDER, maxTokens: 140 },
  { name: 'forced tool call', spec: { tools: [REFUND_TOOL], toolChoice: { name: 'refund' } }, maxTokens: 90 },
  { name: 'json_object', spec: { responseFormat: { type: 'json_object' } }, maxTokens: 60 },
];

let dir: string;
let engine: OnnxEngine;
let tokenizer: LlamaTokenizer;
let eot: number;
let inputIds: number[];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'constrained-chunks-'));
  await writeTinyCheckpoint(dir, { arch: 'llama', seed: 11 });
  const built = await buildModel(dir, { dtype: 'fp32' });
  expect(built.manifest.greedyLoop).toBe(true);
  engine = await OnnxEngine.load(dir, { intraOpThreads: 1 });
  tokenizer = await LlamaTokenizer.fromDirectory(dir);
  eot = tokenizer.specialIds.eot!;
  inputIds = tokenizer.encode('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nFill it in.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n', { allowSpecial: true });
}, 180_000);

afterAll(async () => {
  await engine?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function run(on: ForwardEngine, c: (typeof CASES)[number], decodeChunk: number, sampling: SamplingSettings = {}, topLogprobs?: number) {
  const grammar = compileConstraint(c.spec, tokenizer)!;
  return generate(on, tokenizer, { inputIds, eosIds: [eot], maxTokens: c.maxTokens, decodeChunk, sampling, topLogprobs, constraint: grammar.start([eot]) });
}

function expectValid(c: (typeof CASES)[number], text: string): void {
  const value = JSON.parse(text);
  if (c.schema) expect(new Ajv().compile(c.schema)(value), text).toBe(true);
  else if (c.spec.toolChoice) expect(value.name).toBe('refund');
  else expect(typeof value).toBe('object');
}

describe('chunked constrained decoding (tiny checkpoint, in-graph loop)', () => {
  it('greedy: the same tokens as one run per token, for every kind of schema and chunk size', async () => {
    for (const c of CASES) {
      const perToken = await run(engine, c, 1);
      expect(perToken.decodeChunks).toBe(0);
      expect(perToken.constrained).toBeUndefined();
      for (const chunk of [4, 16]) {
        const chunked = await run(engine, c, chunk);
        expect(chunked.tokenIds, `${c.name}, chunk ${chunk}`).toEqual(perToken.tokenIds);
        expect(chunked.text).toBe(perToken.text);
        expect(chunked.finishReason).toBe(perToken.finishReason);
        expectValid(c, chunked.text);
        const s = chunked.constrained!;
        // Every position is accounted for: accepted from chunks, the model's own token, a masked
        // choice or a forced token.
        expect(s.accepted + s.drafted + s.masked + s.forced).toBe(chunked.tokenIds.length + (chunked.finishReason === 'eos' && chunked.eosId !== undefined ? 1 : 0));
      }
    }
  }, 300_000);

  it('free text is decoded mostly in chunks; structure mostly one token per run, with few wasted chunks', async () => {
    const note = (await run(engine, CASES[0], 16)).constrained!;
    expect(note.chunks).toBeGreaterThan(0);
    expect(note.accepted).toBeGreaterThan(0.6 * 160);
    const settings = await run(engine, CASES[1], 16);
    const s = settings.constrained!;
    expect(s.masked + s.forced).toBeGreaterThan(0.7 * settings.tokenIds.length);
    // Chunks are only started where the model's own token is allowed, and back off when cut early.
    expect(s.proposed).toBeLessThan(settings.tokenIds.length);
  }, 120_000);

  it('through the engine worker: the same greedy tokens, decoded in chunks', async () => {
    const worker = await WorkerEngine.loadOnnx(dir, { intraOpThreads: 1 });
    try {
      for (const c of [CASES[0], CASES[2]]) {
        const local = await run(engine, c, 1);
        const remote = await run(worker, c, 16);
        expect(remote.tokenIds).toEqual(local.tokenIds);
        expect(remote.decodeChunks).toBeGreaterThan(0);
      }
      // Sampled, with log-probabilities: the same as on this thread.
      const sampling = { temperature: 1, topK: 40, seed: 5 };
      const here = await run(engine, CASES[2], 16, sampling, 2);
      const there = await run(worker, CASES[2], 16, sampling, 2);
      expect(there.tokenIds).toEqual(here.tokenIds);
    } finally {
      await worker.dispose();
    }
  }, 180_000);

  it('sampled: valid output, reproducible from the seed, decoded in chunks', async () => {
    const samplings: SamplingSettings[] = [
      { temperature: 1, topK: 50, seed: 1 },
      { temperature: 0.8, topK: 40, seed: 2 },
      { temperature: 1.5, topK: 100, repetitionPenalty: 1.2, seed: 3 },
    ];
    for (const c of CASES) {
      for (const sampling of samplings) {
        const a = await run(engine, c, 16, sampling);
        const b = await run(engine, c, 16, sampling);
        expect(b.tokenIds, `${c.name} ${JSON.stringify(sampling)}`).toEqual(a.tokenIds);
        expect(['eos', 'length']).toContain(a.finishReason);
        if (a.finishReason === 'eos') expectValid(c, a.text);
      }
    }
    const note = await run(engine, CASES[0], 16, { temperature: 1, topK: 40, seed: 7 });
    expect(note.decodeChunks).toBeGreaterThan(0);
    expect(note.constrained!.accepted).toBeGreaterThan(note.tokenIds.length / 2);
  }, 300_000);

  it('greedy with a repetition penalty: the same tokens as one run per token', async () => {
    for (const c of [CASES[0], CASES[2]]) {
      const sampling = { temperature: 0, repetitionPenalty: 1.3 };
      expect((await run(engine, c, 16, sampling)).tokenIds).toEqual((await run(engine, c, 1, sampling)).tokenIds);
    }
  }, 120_000);

  it('log-probabilities are those of the per-token path', async () => {
    const perToken = await run(engine, CASES[0], 1, {}, 3);
    const chunked = await run(engine, CASES[0], 16, {}, 3);
    expect(chunked.tokenIds).toEqual(perToken.tokenIds);
    const tokens = async (decodeChunk: number) => {
      const out: Array<{ id: number; logprob?: number; top?: Array<{ id: number }> }> = [];
      const grammar = compileConstraint(CASES[0].spec, tokenizer)!;
      await generate(engine, tokenizer, { inputIds, eosIds: [eot], maxTokens: 60, decodeChunk, topLogprobs: 3, constraint: grammar.start([eot]), onToken: (t) => void out.push(t) });
      return out;
    };
    const [a, b] = [await tokens(1), await tokens(16)];
    expect(b.map((t) => t.id)).toEqual(a.map((t) => t.id));
    for (let i = 0; i < a.length; i++) {
      expect(b[i].logprob).toBeCloseTo(a[i].logprob!, 4);
      expect(b[i].top!.map((t) => t.id)).toEqual(a[i].top!.map((t) => t.id));
    }
  }, 120_000);

  it('a top-p cut (not exact) and sampling without a top-k cut (the graph sorts the vocabulary) keep one run per token', async () => {
    for (const sampling of [{ temperature: 1, topK: 40, topP: 0.9, seed: 1 }, { temperature: 1, seed: 1 }]) {
      const result = await run(engine, CASES[0], 16, sampling);
      expect(result.decodeChunks).toBe(0);
      expect(result.constrained).toBeUndefined();
    }
  }, 60_000);

  it('a session rewound after a chunk continues as one fed token by token', async () => {
    const a = await engine.prefill(inputIds);
    const b = await engine.prefill(inputIds);
    const ids = await a.decode(8, { temperature: 1, topK: 1, topP: 1 }, new Array<number>(8).fill(0));
    a.rewind(inputIds.length + 3);
    expect(a.length).toBe(inputIds.length + 3);
    const afterRewind = await a.step(ids[3]);
    for (let i = 0; i < 3; i++) await b.step(ids[i]);
    const fresh = await b.step(ids[3]);
    // The loop attends over its split cache (decode-loop.ts) while a step attends over one
    // cache: the same sums in another order, so equal to float rounding, with the same choice.
    expect(maxAbsDiff(afterRewind, fresh)).toBeLessThan(1e-4);
    expect(argmax(afterRewind)).toBe(argmax(fresh));
    a.dispose();
    b.dispose();
  }, 60_000);
});
