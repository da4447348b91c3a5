import { describe, expect, it } from 'vitest';
import { chooseToken, type SampleParams } from './token-choice.js';
import { mulberry32 } from '../sampling/prng.js';

/** Deterministic U[0,1) stream (the tiny checkpoints' mulberry32) so a failure replays. */
const rng = mulberry32;

/**
 * The plain definition: sort the whole vocabulary (descending, lower id first on ties), cut to
 * top-k, softmax at the temperature, keep while the mass before a token is < top_p, then the
 * inverse CDF at u. Returns the chooser and the CDF it walks, so tests can aim u at boundaries.
 */
function fullSortReference(logits: ArrayLike<number>, p: SampleParams): { choose: (u: number) => number; cdf: number[] } {
  const V = logits.length;
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const k = p.topK > 0 ? Math.min(p.topK, V) : V;
  const top = order.slice(0, k);
  const z = top.map((i) => logits[i] / p.temperature);
  let m = -Infinity;
  for (const x of z) m = Math.max(m, x);
  const e = z.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  let before = 0;
  const kept = e.map((x) => {
    const q = x / s;
    const keep = before < p.topP;
    before += q;
    return keep ? q : 0;
  });
  const total = kept.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  let c = 0;
  for (const q of kept) cdf.push((c += q / total));
  const choose = (u: number) => {
    for (let i = 0; i < k; i++) if (cdf[i] > u) return top[i];
    return top[0];
  };
  return { choose, cdf };
}

const LLAMA_VOCAB = 128_256;

/** Logits shaped like a language model's: a broad bulk, a few strong candidates, some ties. */
function modelLikeLogits(V: number, seed: number, opts: { ties?: boolean; masked?: boolean } = {}): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(V);
  for (let i = 0; i < V; i++) {
    const g = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    out[i] = 2.5 * g;
  }
  for (let j = 0; j < 30; j++) out[Math.floor(r() * V)] = 8 + 10 * r();
  if (opts.ties) for (let i = 0; i < V; i++) out[i] = Math.round(out[i] * 2) / 2; // many equal values
  if (opts.masked) for (let i = 0; i < V; i += 3) out[i] = -Infinity;
  return out;
}

/** Random draws plus every CDF boundary and the float just below it (where rounding would show). */
function drawsFor(cdf: number[], count: number, seed: number): number[] {
  const r = rng(seed);
  const draws = Array.from({ length: count }, () => r());
  const step = Math.max(1, Math.floor(cdf.length / 40));
  for (let i = 0; i < cdf.length; i += step) {
    draws.push(cdf[i], cdf[i] * (1 - Number.EPSILON));
    if (cdf[i] >= 1 - 1e-12) break;
  }
  draws.push(0, 1 - Number.EPSILON, 1);
  return draws;
}

function expectSameAsReference(logits: ArrayLike<number>, p: SampleParams, count: number, seed: number): void {
  const ref = fullSortReference(logits, p);
  const draws = drawsFor(ref.cdf, count, seed);
  const mismatches = draws.filter((u) => chooseToken(logits, p, u) !== ref.choose(u)).map((u) => ({ u, got: chooseToken(logits, p, u), want: ref.choose(u) }));
  expect(mismatches, JSON.stringify(p)).toEqual([]);
}

describe('chooseToken on a Llama-size vocabulary (128,256 logits)', () => {
  it('takes top-k 0 (no cut) and a cut larger than the vocabulary without overflowing the stack', () => {
    const logits = modelLikeLogits(LLAMA_VOCAB, 1);
    for (const topK of [0, LLAMA_VOCAB, LLAMA_VOCAB + 10, 1e9]) {
      const token = chooseToken(logits, { temperature: 1, topK, topP: 1 }, 0.5);
      expect(Number.isInteger(token)).toBe(true);
      expect(token).toBeGreaterThanOrEqual(0);
      expect(token).toBeLessThan(LLAMA_VOCAB);
    }
  });

  it('top-k 1 is the argmax (lowest id on ties) whatever the draw', () => {
    const logits = modelLikeLogits(LLAMA_VOCAB, 2);
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    logits[best + 1] = logits[best]; // a tie just after: the lower id wins
    for (const u of [0, 0.3, 0.999]) expect(chooseToken(logits, { temperature: 0.8, topK: 1, topP: 0.5 }, u)).toBe(best);
  });

  const cases: Array<[string, SampleParams, { ties?: boolean; masked?: boolean }]> = [
    ['no cut, temperature 1', { temperature: 1, topK: 0, topP: 1 }, {}],
    ['no cut, hot (2.0), top-p 0.95', { temperature: 2, topK: 0, topP: 0.95 }, {}],
    ['no cut, cold (0.3), top-p 0.9', { temperature: 0.3, topK: 0, topP: 0.9 }, {}],
    ['top-k 40, top-p 0.9, ties', { temperature: 0.7, topK: 40, topP: 0.9 }, { ties: true }],
    ['top-k 5000, masked (-Infinity) entries', { temperature: 1.2, topK: 5000, topP: 1 }, { masked: true }],
    ['top-k 50,000 with ties', { temperature: 1, topK: 50_000, topP: 0.99 }, { ties: true }],
  ];
  for (const [name, params, shape] of cases) {
    it(`picks the token a full sort picks for every draw: ${name}`, () => {
      expectSameAsReference(modelLikeLogits(LLAMA_VOCAB, name.length, shape), params, 40, 7);
    });
  }
});

describe('chooseToken against the full-sort definition on small vocabularies', () => {
  it('agrees over many random logits, parameters and draws, boundaries included', () => {
    const r = rng(42);
    for (let trial = 0; trial < 300; trial++) {
      const V = 1 + Math.floor(r() * 80);
      const ties = r() < 0.4;
      const logits = Array.from({ length: V }, () => {
        const x = (r() - 0.5) * 20;
        return ties ? Math.round(x) : x;
      });
      if (r() < 0.2) logits[Math.floor(r() * V)] = -Infinity;
      if (r() < 0.1) logits[Math.floor(r() * V)] = -0;
      const params: SampleParams = {
        temperature: [0.05, 0.5, 1, 3][Math.floor(r() * 4)],
        topK: [0, 1, 2, 3, 10, 100][Math.floor(r() * 6)],
        topP: [1, 0.95, 0.5, 0.1][Math.floor(r() * 4)],
      };
      expectSameAsReference(logits, params, 40, trial);
    }
  });

  it('rejects a temperature that is not positive and logits that are all NaN', () => {
    expect(() => chooseToken([1, 2], { temperature: 0, topK: 0, topP: 1 }, 0.5)).toThrow(expect.objectContaining({ code: 'ONNX_BAD_INPUT' }));
    expect(() => chooseToken([NaN, NaN], { temperature: 1, topK: 0, topP: 1 }, 0.5)).toThrow(expect.objectContaining({ code: 'ONNX_BAD_INPUT' }));
    expect(() => chooseToken([], { temperature: 1, topK: 0, topP: 1 }, 0.5)).toThrow(expect.objectContaining({ code: 'ONNX_BAD_INPUT' }));
  });

  it('never chooses a NaN logit', () => {
    const logits = [NaN, 1, NaN, 0.5];
    for (const u of [0, 0.4, 0.9, 0.999]) expect([1, 3]).toContain(chooseToken(logits, { temperature: 1, topK: 0, topP: 1 }, u));
  });
});
