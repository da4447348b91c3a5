// The chunked token loop against a session double that records every decode(n) call: chunk
// sizing, uniforms from the seeded PRNG, eos inside a chunk, aborts, and when it falls back.
import { describe, expect, it } from 'vitest';
import type { ForwardEngine } from '../model/engine.js';
import { inGraphSampling, type InGraphSampling, type MultiStepDecodeSession } from './chunked-decode.js';
import { decodeTokens } from './decode-loop.js';
import { newTally, type DecodePlan } from './decode-plan.js';
import { generate } from './generate.js';
import { seededRandom } from '../sampling/prng.js';
import { CharTokenizer } from '../testing/char-tokenizer.js';

const VOCAB = 128;

/** Emits script[i] for the i-th generated token; decode(n) hands out the next n. */
class MultiStepDouble implements ForwardEngine {
  readonly vocabSize = VOCAB;
  calls: Array<{ count: number; params: InGraphSampling; uniforms: number[]; seen?: number[] }> = [];
  steps = 0;
  onDecode?: () => void;
  constructor(
    private readonly script: number[],
    private readonly penaltyInGraph = true,
  ) {}
  async prefill(): Promise<MultiStepDecodeSession> {
    let at = 0;
    const logitsFor = (id: number) => {
      const l = new Float32Array(VOCAB);
      l[id] = 10;
      return l;
    };
    const self = this;
    let logits = logitsFor(this.script[0]);
    return {
      get logits() {
        return logits;
      },
      lastTransferBytes: 100,
      repetitionPenaltyInGraph: this.penaltyInGraph,
      async step() {
        self.steps++;
        at++;
        logits = logitsFor(self.script[at] ?? 0);
        return logits;
      },
      async decode(count: number, params: InGraphSampling, uniforms: number[], seen?: number[]) {
        self.calls.push({ count, params, uniforms: [...uniforms], seen: seen && [...seen] });
        self.onDecode?.();
        const out = self.script.slice(at, at + count);
        while (out.length < count) out.push(0);
        at += count;
        logits = logitsFor(self.script[at] ?? 0);
        return out;
      },
      dispose() {},
    };
  }
  async dispose() {}
}

const plan = (over: Partial<DecodePlan> = {}): DecodePlan => ({ inputIds: [1], sampling: { seed: 5 }, eosIds: [], maxTokens: 10, decodeChunk: 4, ...over });

async function collect(engine: ForwardEngine, p: DecodePlan, signal?: AbortSignal) {
  const tally = newTally();
  const tokens = [];
  for await (const t of decodeTokens(engine, p, tally, signal)) tokens.push(t);
  return { tokens, tally };
}

describe('chunked decode loop', () => {
  const script = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21];

  it('asks for min(chunk, tokens left) per run and marks chunk ends', async () => {
    const engine = new MultiStepDouble(script);
    const { tokens, tally } = await collect(engine, plan());
    expect(engine.calls.map((c) => c.count)).toEqual([4, 4, 2]);
    expect(engine.steps).toBe(0);
    expect(tokens.map((t) => t.id)).toEqual(script.slice(0, 10));
    expect(tokens.map((t) => t.endOfChunk)).toEqual([false, false, false, true, false, false, false, true, false, true]);
    expect(tally).toMatchObject({ finishReason: 'length', chunks: 3, stepTransferBytes: 300 });
    expect(engine.calls[0].params).toEqual({ temperature: 1, topK: 1, topP: 1 });
    expect(engine.calls.flatMap((c) => c.uniforms).every((u) => u === 0)).toBe(true);
  });

  it('draws one uniform per token from the seeded PRNG, in order across chunks', async () => {
    const engine = new MultiStepDouble(script);
    await collect(engine, plan({ sampling: { temperature: 0.7, topK: 50, topP: 0.9, seed: 42 }, maxTokens: 9 }));
    const random = seededRandom(42);
    expect(engine.calls.flatMap((c) => c.uniforms)).toEqual(Array.from({ length: 9 }, () => random.next()));
    expect(engine.calls[0].params).toEqual({ temperature: 0.7, topK: 50, topP: 0.9 });
  });

  it('stops at an eos inside a chunk and drops what follows', async () => {
    const engine = new MultiStepDouble(script);
    const { tokens, tally } = await collect(engine, plan({ eosIds: [16] }));
    expect(tokens.map((t) => t.id)).toEqual([10, 11, 12, 13, 14, 15]);
    expect(tally).toMatchObject({ finishReason: 'eos', eosId: 16, chunks: 2 });
  });

  it('drops the tokens of a run during which the request was aborted', async () => {
    const engine = new MultiStepDouble(script);
    const controller = new AbortController();
    engine.onDecode = () => {
      if (engine.calls.length === 2) controller.abort();
    };
    const { tokens, tally } = await collect(engine, plan(), controller.signal);
    expect(tokens.map((t) => t.id)).toEqual(script.slice(0, 4));
    expect(tally.finishReason).toBe('abort');
  });

  it('keeps one step per token for decodeChunk 1, topLogprobs, or a repetition penalty the session cannot apply', async () => {
    for (const [p, penaltyInGraph] of [
      [plan({ decodeChunk: 1 }), true],
      [plan({ topLogprobs: 1 }), true],
      [plan({ sampling: { seed: 1, repetitionPenalty: 1.2 } }), false],
    ] as const) {
      const engine = new MultiStepDouble(script, penaltyInGraph);
      const { tokens } = await collect(engine, p);
      expect(engine.calls).toHaveLength(0);
      expect(tokens.map((t) => t.id)).toEqual(script.slice(0, 10));
    }
  });

  it('only hands the graph sampling it can do', () => {
    expect(inGraphSampling({})).toEqual({ temperature: 1, topK: 1, topP: 1 });
    expect(inGraphSampling({ temperature: 0, topK: 5 })).toEqual({ temperature: 1, topK: 1, topP: 1 });
    expect(inGraphSampling({ temperature: 1, topK: 40, topP: 0.9 })).toEqual({ temperature: 1, topK: 40, topP: 0.9 });
    // No top-k cut, or one above the vocabulary: the graph clamps it, the first token's JS choice copes.
    expect(inGraphSampling({ temperature: 1, topP: 0.9 })).toEqual({ temperature: 1, topK: 0, topP: 0.9 });
    expect(inGraphSampling({ temperature: 0.8, topK: 200_000 })).toEqual({ temperature: 0.8, topK: 200_000, topP: 1 });
    expect(inGraphSampling({ repetitionPenalty: 1.1 })).toEqual({ temperature: 1, topK: 1, topP: 1, repetitionPenalty: 1.1 });
    expect(inGraphSampling({ repetitionPenalty: 1 })).toEqual({ temperature: 1, topK: 1, topP: 1 });
  });

  it('hands a repetition penalty and every id so far (prompt included) to a session that applies it', async () => {
    const engine = new MultiStepDouble(script);
    const { tokens } = await collect(engine, plan({ inputIds: [1, 2, 3], sampling: { seed: 1, repetitionPenalty: 1.2 } }));
    expect(tokens.map((t) => t.id)).toEqual(script.slice(0, 10));
    expect(engine.calls.map((c) => c.params.repetitionPenalty)).toEqual([1.2, 1.2, 1.2]);
    expect(engine.calls.map((c) => c.seen)).toEqual([[1, 2, 3], [1, 2, 3, ...script.slice(0, 4)], [1, 2, 3, ...script.slice(0, 8)]]);
    expect(engine.steps).toBe(0);
  });

  it('generate() streams one text delta per chunk and stops on a stop string inside one', async () => {
    const tokenizer = new CharTokenizer();
    const ids = tokenizer.encodeText('hello world, more text');
    expect(Math.max(...ids)).toBeLessThan(VOCAB);
    const engine = new MultiStepDouble(ids);
    const deltas: string[] = [];
    const result = await generate(engine, tokenizer, { inputIds: [1], maxTokens: 12, decodeChunk: 4, onText: (d) => void deltas.push(d) });
    expect(deltas).toHaveLength(3);
    expect(deltas.join('')).toBe(result.text);
    expect(result.decodeChunks).toBe(3);
    const stopped = await generate(new MultiStepDouble(ids), tokenizer, { inputIds: [1], maxTokens: 12, decodeChunk: 8, stop: [tokenizer.decode(ids.slice(5, 7))] });
    expect(stopped.finishReason).toBe('stop');
    expect(stopped.text).toBe(tokenizer.decode(ids.slice(0, 5)));
    expect(stopped.tokenIds).toEqual(ids.slice(0, 7));
  });
});
