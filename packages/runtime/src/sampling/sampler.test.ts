import { describe, expect, it } from 'vitest';
import { InvalidSamplingError } from './errors.js';
import { logSoftmax, tokenLogprobs } from './logprobs.js';
import { seededRandom } from './prng.js';
import { createSampler, sampleCategorical } from './sampler.js';

const logits = Float32Array.from([0.5, 2, 1.9, -1, 0]);

describe('createSampler', () => {
  it('is greedy by default and never touches the engine logits', () => {
    const copy = logits.slice();
    const s = createSampler({ repetitionPenalty: 1.5 });
    expect(s.greedy).toBe(true);
    expect(s.sample(logits, [])).toBe(1);
    // penalising token 1 (2 -> 1.33) lets token 2 win
    expect(s.sample(logits, [1])).toBe(2);
    expect(logits).toEqual(copy);
  });

  it('reproduces the same tokens from the same seed and differs across seeds', () => {
    const draw = (seed: number) => {
      const s = createSampler({ temperature: 1.5, seed });
      return Array.from({ length: 40 }, () => s.sample(logits, []));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('samples only inside top-k', () => {
    const s = createSampler({ temperature: 5, topK: 2, seed: 1 });
    const seen = new Set(Array.from({ length: 200 }, () => s.sample(logits, [])));
    expect([...seen].sort()).toEqual([1, 2]);
  });

  it('follows the softmax distribution at temperature 1', () => {
    const s = createSampler({ temperature: 1, seed: 3 });
    const counts = new Array(5).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) counts[s.sample(logits, [])]++;
    const p = Array.from(logSoftmax(logits), Math.exp);
    counts.forEach((c, i) => expect(Math.abs(c / n - p[i])).toBeLessThan(0.015));
  });

  it('rejects out-of-range settings with a typed error', () => {
    expect(() => createSampler({ topP: 1.5 })).toThrow(InvalidSamplingError);
    expect(() => createSampler({ temperature: -1 })).toThrow(/temperature must be/);
    expect(() => createSampler({ topK: 2.5 })).toThrow(/topK/);
    try {
      createSampler({ repetitionPenalty: 0 });
    } catch (e) {
      expect((e as InvalidSamplingError).code).toBe('INVALID_SAMPLING');
    }
  });
});

describe('sampleCategorical', () => {
  it('never draws masked tokens', () => {
    const r = seededRandom(1);
    const scores = Float32Array.from([-Infinity, 0, -Infinity]);
    for (let i = 0; i < 50; i++) expect(sampleCategorical(scores, r)).toBe(1);
  });
});

describe('logprobs', () => {
  it('log-softmax sums to one and top alternatives come most likely first', () => {
    const lp = logSoftmax(logits);
    expect(Array.from(lp).reduce((a, b) => a + Math.exp(b), 0)).toBeCloseTo(1, 10);
    const { chosen, top } = tokenLogprobs(logits, 2, 2);
    expect(chosen.logprob).toBeCloseTo(lp[2], 10);
    expect(top.map((t) => t.id)).toEqual([1, 2]);
  });
  it('is stable for large logits', () => {
    const { chosen } = tokenLogprobs(Float32Array.from([1000, 1000]), 0, 0);
    expect(chosen.logprob).toBeCloseTo(Math.log(0.5), 10);
  });
});
