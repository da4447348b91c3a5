/**
 * The two token choices of chunked constrained decoding (constrained-chunks.ts), per position:
 *
 * - the draft: what the in-graph sampler chooses without a mask (`q`: repetition penalty,
 *   temperature, top-k; the same rule as a decode run's first token, `chooseToken`);
 * - after the draft was refused by the constraint, the residual draw, so that the token of the
 *   position has exactly the per-token masked path's distribution `r` (mask, then the same
 *   processors): P(x) = q(x)·[x allowed] + (1 − q(A))·res(x) = r(x) with
 *   res(x) = (r(x) − q(x)·[x allowed]) / (1 − q(A)).
 *
 * This needs r(x) ≥ q(x) for every allowed x, which holds without a top-p cut: with
 * temperature alone r(x) = q(x)/q(A), and with a top-k cut an allowed token among the k most
 * likely overall is among the k most likely allowed ones, whose normaliser is no larger
 * (r(x) = p(x)/p(top-k of A) ≥ p(x)/p(top-k) = q(x)). Then res is r itself without top-k
 * (the masked distribution p(x)/p(A) renormalised) and r − q on the allowed tokens with it.
 * Greedy is the degenerate case: the draft is the argmax, allowed or replaced by the masked
 * argmax. A top-p cut breaks r ≥ q (an allowed token inside the overall nucleus can fall
 * outside the allowed tokens' nucleus), so top-p < 1 keeps the per-token path.
 *
 * A position where no draft is looked at (chunk-policy.ts pauses drafting where the model's
 * tokens keep being refused) draws from r directly, as the per-token path does.
 */
import type { SamplingSettings } from '../model/types.js';
import { chooseToken } from '../onnx/token-choice.js';
import { applyRepetitionPenalty, applyTemperature, applyTopK } from '../sampling/processors.js';
import { seededRandom, type Random } from '../sampling/prng.js';
import { argmax, topIndices } from '../sampling/top-indices.js';
import type { InGraphSampling } from './chunked-decode.js';

/**
 * Whether chunked constrained decoding runs for these in-graph parameters: it is exact without a
 * top-p cut (see above), and it pays only where the in-graph sampler does not sort the
 * vocabulary: greedy, or a top-k cut small enough for a bounded selection. Without a top-k cut
 * (temperature alone, OpenAI's default) the graph's TopK sorts all 128k logits for every token
 * and the JS rule for a chunk's first token sorts them too (chooseToken), which on the CPU makes
 * a chunk slower than one run per token, for free decoding as well (docs/structured-output.md);
 * those requests keep the per-token path.
 */
export function chunksUnderConstraint(params: InGraphSampling, vocab: number): boolean {
  return params.topP >= 1 && (params.topK === 1 || (params.topK > 0 && params.topK * 8 < vocab));
}

/** The token a decode run would choose first from `logits` with uniform `u` (no mask). */
export function draftToken(logits: Float32Array, params: InGraphSampling, u: number, seen: readonly number[] | undefined): number {
  return chooseToken(penalized(logits, params, seen), params, u);
}

function penalized(logits: Float32Array, params: InGraphSampling, seen: readonly number[] | undefined): Float32Array {
  const penalty = params.repetitionPenalty ?? 1;
  return penalty === 1 || !seen ? logits : applyRepetitionPenalty(logits.slice(), seen, penalty);
}

/**
 * Draws the token of a position whose draft the constraint refused, from the residual of the
 * masked distribution (see above). `masked` holds the logits with refused tokens at -Infinity.
 * Its random stream is its own (seed mixed with a constant), apart from the drafts' uniforms.
 */
export class ResidualSampler {
  private readonly random: Random;
  private readonly temperature: number;
  private readonly topK: number;
  private readonly penalty: number;
  private work = new Float32Array(0);
  private unmasked = new Float32Array(0);

  constructor(settings: SamplingSettings & { seed: number }) {
    this.random = seededRandom((settings.seed ^ 0x2545f491) >>> 0);
    this.temperature = settings.temperature ?? 0;
    this.topK = settings.topK ?? 0;
    this.penalty = settings.repetitionPenalty ?? 1;
  }

  /** A draw from the residual res, after the draft (drawn from `logits` unmasked) was refused. */
  sample(logits: Float32Array, masked: Float32Array, seen: readonly number[]): number {
    return this.draw(masked, seen, logits);
  }

  /** A draw from r itself: a position where no draft was looked at (the per-token path's choice). */
  sampleMasked(masked: Float32Array, seen: readonly number[]): number {
    return this.draw(masked, seen, undefined);
  }

  private draw(masked: Float32Array, seen: readonly number[], drafted: Float32Array | undefined): number {
    if (this.temperature === 0 && this.penalty === 1) return argmax(masked);
    const work = this.scores(masked, 'work', seen);
    if (this.temperature === 0) return argmax(work);
    const cut = this.topK > 0 && this.topK < work.length;
    // r: the per-token path's processors on the masked scores.
    if (cut) applyTopK(work, this.topK);
    // Without a cut the residual is r itself (r − q·[allowed] = r·(1 − q(A))).
    if (!cut || !drafted) return categorical(work, undefined, this.random);
    // q on the same tokens: the unmasked scores' exactly-k most likely (the in-graph rule).
    const q = this.scores(drafted, 'unmasked', seen);
    return categorical(work, topKMass(q, this.topK), this.random);
  }

  /** Penalised and temperature-scaled scores, in a reused buffer. */
  private scores(source: Float32Array, which: 'work' | 'unmasked', seen: readonly number[]): Float32Array {
    let buffer = which === 'work' ? this.work : this.unmasked;
    if (buffer.length !== source.length) {
      buffer = new Float32Array(source.length);
      if (which === 'work') this.work = buffer;
      else this.unmasked = buffer;
    }
    buffer.set(source);
    applyRepetitionPenalty(buffer, seen, this.penalty);
    if (this.temperature > 0) applyTemperature(buffer, this.temperature);
    return buffer;
  }
}

/** The k most likely entries of q (ties: lower id first, as chooseToken) and their softmax normaliser. */
function topKMass(scores: Float32Array, k: number): { max: number; sum: number; ids: Set<number> } {
  const order = topIndices(scores, k);
  const max = order.length > 0 ? scores[order[0]] : -Infinity;
  let sum = 0;
  for (const id of order) sum += Math.exp(scores[id] - max);
  return { max, sum, ids: new Set(order) };
}

/**
 * Draws from softmax(r) (finite entries of `r`), or, with `q`, from the residual
 * max(0, r(x) − q(x)) over r's support, renormalised; when the residual has no mass left
 * (rounding), from r itself.
 */
function categorical(r: Float32Array, q: { max: number; sum: number; ids: Set<number> } | undefined, random: Random): number {
  // The support once (a top-k cut leaves about k entries), then sums over it alone.
  const support: number[] = [];
  let max = -Infinity;
  for (let i = 0; i < r.length; i++) {
    const v = r[i];
    if (v === -Infinity) continue;
    support.push(i);
    if (v > max) max = v;
  }
  if (max === -Infinity) return argmax(r);
  const weights = new Float64Array(support.length);
  let sum = 0;
  for (let j = 0; j < support.length; j++) sum += weights[j] = Math.exp(r[support[j]] - max);
  let total = sum;
  if (q) {
    total = 0;
    for (let j = 0; j < support.length; j++) {
      const i = support[j];
      const pr = weights[j] / sum;
      const w = q.ids.has(i) ? Math.max(0, pr - Math.exp(r[i] - q.max) / q.sum) : pr;
      weights[j] = w;
      total += w;
    }
    if (!(total > 1e-12)) return categorical(r, undefined, random);
  }
  const target = random.next() * total;
  let acc = 0;
  let last = -1;
  for (let j = 0; j < support.length; j++) {
    if (weights[j] === 0) continue;
    acc += weights[j];
    last = support[j];
    if (acc > target) return last;
  }
  return last;
}
