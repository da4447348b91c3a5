import { describe, expect, it } from 'vitest';
import { InvalidGenerationRequestError } from './errors.js';
import { generate } from './generate.js';
import { logSoftmax } from '../sampling/logprobs.js';
import { ByteTableTokenizer } from '../testing/byte-tokenizer.js';
import { ScriptedEngine } from '../testing/scripted-engine.js';

// ids: 0 "<eos>" 1 "Hi" 2 " there" 3 [C3] 4 [A9] 5 "!" 6 "STOP" 7 " x"
const tok = new ByteTableTokenizer(['<eos>', 'Hi', ' there', [0xc3], [0xa9], '!', 'STOP', ' x']);
const engineFor = (script: number[]) => new ScriptedEngine({ vocabSize: 8, script });

describe('generate', () => {
  it('prefills once, steps per token and stops on an eos id without streaming it', async () => {
    const engine = engineFor([1, 2, 3, 4, 5, 0, 7]);
    const deltas: string[] = [];
    const r = await generate(engine, tok, { inputIds: [9, 9], eosIds: [0], onText: (t) => void deltas.push(t) });
    expect(r.finishReason).toBe('eos');
    expect(r.eosId).toBe(0);
    expect(r.tokenIds).toEqual([1, 2, 3, 4, 5]);
    expect(r.text).toBe('Hi thereé!');
    expect(deltas).toEqual(['Hi', ' there', 'é', '!']);
    expect(engine.prefills).toBe(1);
    expect(engine.steps).toBe(5);
    expect(engine.disposedSessions).toBe(1);
    expect(r.promptTokens).toBe(2);
    expect(r.transferBytes).toBeGreaterThan(0);
  });

  it('stops at maxTokens without a wasted forward pass', async () => {
    const engine = engineFor([1, 2, 2, 2, 2]);
    const r = await generate(engine, tok, { inputIds: [1], maxTokens: 3 });
    expect(r.finishReason).toBe('length');
    expect(r.tokenIds).toHaveLength(3);
    expect(engine.steps).toBe(2);
  });

  it('stops on a stop string and never releases it', async () => {
    const deltas: string[] = [];
    const r = await generate(engineFor([1, 6, 7, 7]), tok, {
      inputIds: [1],
      sampling: { stop: ['ST'] },
      onText: (t) => void deltas.push(t),
    });
    expect(r.finishReason).toBe('stop');
    expect(r.text).toBe('Hi');
    expect(deltas.join('')).toBe('Hi');
  });

  it('stops on abort between steps and disposes the session', async () => {
    const controller = new AbortController();
    const engine = engineFor([1, 2, 2, 2, 2, 2]);
    const r = await generate(engine, tok, {
      inputIds: [1],
      signal: controller.signal,
      onToken: (t) => {
        if (t.index === 1) controller.abort();
      },
    });
    expect(r.finishReason).toBe('abort');
    expect(r.tokenIds).toEqual([1, 2]);
    expect(engine.disposedSessions).toBe(1);
  });

  it('returns abort without a prefill when already aborted', async () => {
    const engine = engineFor([1]);
    const r = await generate(engine, tok, { inputIds: [1], signal: AbortSignal.abort() });
    expect(r.finishReason).toBe('abort');
    expect(engine.prefills).toBe(0);
  });

  it('reports log-probabilities of the raw distribution and keeps the first logits', async () => {
    const engine = engineFor([1, 2, 0]);
    const tokens: Array<{ id: number; logprob?: number; top?: Array<{ id: number }> }> = [];
    const r = await generate(engine, tok, {
      inputIds: [1],
      eosIds: [0],
      topLogprobs: 2,
      keepFirstLogits: true,
      onToken: (t) => void tokens.push(t),
    });
    expect(r.firstLogits).toHaveLength(8);
    const expected = logSoftmax(r.firstLogits!)[1];
    expect(tokens[0].logprob).toBeCloseTo(expected, 6);
    expect(tokens[0].top?.[0].id).toBe(1);
    expect(tokens[0].top).toHaveLength(2);
    expect(tokens.map((t) => t.id)).toEqual([1, 2]);
  });

  it('passes the prompt and vision inputs to prefill', async () => {
    const engine = engineFor([0]);
    const vision = { pixelValues: new Float32Array(1), numImages: 1, maxTiles: 1, tileSize: 1, aspectRatioIds: [1], aspectRatioMask: [[1]], crossAttentionMask: [[[1]]] };
    await generate(engine, tok, { inputIds: [3, 4], vision, eosIds: [0] });
    expect(engine.lastPrefill?.inputIds).toEqual([3, 4]);
    expect(engine.lastPrefill?.vision).toBe(vision);
  });

  it('rejects malformed requests with typed errors', async () => {
    const engine = engineFor([0]);
    await expect(generate(engine, tok, { inputIds: [] })).rejects.toBeInstanceOf(InvalidGenerationRequestError);
    await expect(generate(engine, tok, { inputIds: [1], eosIds: [99] })).rejects.toThrow(/eosIds must be token ids in \[0, 8\)/);
    await expect(generate(engine, tok, { inputIds: [1], sampling: { topP: 0 } })).rejects.toThrow(/topP/);
  });
});
