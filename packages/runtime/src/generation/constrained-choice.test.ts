// The sampled side of chunked constrained decoding is exact: drawing the model's own token
// without a mask (the draft, the in-graph rule), keeping it when allowed and otherwise drawing
// from the residual gives each token the per-token path's probability (mask, then repetition
// penalty, temperature and top-k). Checked by simulation on a small vocabulary against the exact
// masked distribution; the naive "redraw under the mask" is shown to be off where top-k cuts.
import { describe, expect, it } from 'vitest';
import { applyRepetitionPenalty, applyTemperature, applyTopK } from '../sampling/processors.js';
import { mulberry32 } from '../sampling/prng.js';
import type { InGraphSampling } from './chunked-decode.js';
import { chunksUnderConstraint, draftToken, ResidualSampler } from './constrained-choice.js';

const LOGITS = Float32Array.from([3.1, 2.9, 2.7, 2.2, 2.0, 1.8, 1.1, 0.9, 0.4, -0.3, -1.0, -2.5]);
/** Allowed: neither of the two most likely, a middle one and the tail. */
const ALLOWED = new Set([2, 4, 5, 7, 9, 10, 11]);

/** The per-token path's distribution: mask, penalty, temperature, top-k, softmax. */
function target(settings: { temperature: number; topK?: number; repetitionPenalty?: number }, seen: number[]): number[] {
  const s = LOGITS.map((v, i) => (ALLOWED.has(i) ? v : -Infinity));
  applyRepetitionPenalty(s, seen, settings.repetitionPenalty ?? 1);
  applyTemperature(s, settings.temperature);
  applyTopK(s, settings.topK ?? 0);
  const max = Math.max(...s);
  const e = Array.from(s, (v) => (v === -Infinity ? 0 : Math.exp(v - max)));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

function simulate(settings: { temperature: number; topK?: number; repetitionPenalty?: number; seed: number }, seen: number[], naive = false): number[] {
  const params: InGraphSampling = { temperature: settings.temperature, topK: settings.topK ?? 0, topP: 1, ...(settings.repetitionPenalty ? { repetitionPenalty: settings.repetitionPenalty } : {}) };
  const sampler = new ResidualSampler(settings);
  const uniform = mulberry32(settings.seed);
  const masked = LOGITS.map((v, i) => (ALLOWED.has(i) ? v : -Infinity));
  const counts = new Array<number>(LOGITS.length).fill(0);
  const N = 200_000;
  for (let n = 0; n < N; n++) {
    const draft = draftToken(LOGITS, params, uniform(), params.repetitionPenalty ? seen : undefined);
    const id = ALLOWED.has(draft) ? draft : naive ? sampler.sampleMasked(masked, seen) : sampler.sample(LOGITS, masked, seen);
    counts[id]++;
  }
  return counts.map((c) => c / N);
}

const maxError = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

describe('draft, then residual: the per-token masked distribution', () => {
  it('with temperature alone, with a top-k cut and with a repetition penalty', () => {
    const seen = [2, 5, 0];
    for (const settings of [
      { temperature: 1, seed: 1 },
      { temperature: 0.7, topK: 4, seed: 2 },
      { temperature: 1.3, topK: 3, seed: 3 },
      { temperature: 1, topK: 5, repetitionPenalty: 1.5, seed: 4 },
    ]) {
      const got = simulate(settings, seen);
      const want = target(settings, seen);
      // 200k draws: a standard error below 0.0012 per token.
      expect(maxError(got, want), JSON.stringify({ settings, got, want })).toBeLessThan(0.006);
      for (let i = 0; i < LOGITS.length; i++) if (!ALLOWED.has(i)) expect(got[i]).toBe(0);
    }
  });

  it('a plain masked redraw after a refused draft would not be exact under a top-k cut', () => {
    const settings = { temperature: 0.7, topK: 4, seed: 2 };
    expect(maxError(simulate(settings, [], true), target(settings, []))).toBeGreaterThan(0.05);
  });

  it('greedy: the allowed argmax, or the masked argmax', () => {
    const sampler = new ResidualSampler({ temperature: 0, seed: 1 });
    const masked = LOGITS.map((v, i) => (ALLOWED.has(i) ? v : -Infinity));
    expect(draftToken(LOGITS, { temperature: 1, topK: 1, topP: 1 }, 0, undefined)).toBe(0);
    expect(sampler.sample(LOGITS, masked, [])).toBe(2);
  });

  it('chunks run for greedy and top-k cuts, not with top-p or without a cut', () => {
    const V = 128256;
    expect(chunksUnderConstraint({ temperature: 1, topK: 1, topP: 1 }, V)).toBe(true);
    expect(chunksUnderConstraint({ temperature: 0.8, topK: 40, topP: 1 }, V)).toBe(true);
    expect(chunksUnderConstraint({ temperature: 0.8, topK: 40, topP: 0.95 }, V)).toBe(false);
    expect(chunksUnderConstraint({ temperature: 1, topK: 0, topP: 1 }, V)).toBe(false);
  });
});
