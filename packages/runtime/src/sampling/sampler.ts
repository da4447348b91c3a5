/**
 * Turns one step's logits into the next token: validates the settings once, keeps a working
 * buffer (the engine's logits are never modified) and a seeded random source per generation.
 */
import type { SamplingSettings } from '../model/types.js';
import { InvalidSamplingError } from './errors.js';
import { randomSeed, seededRandom, type Random } from './prng.js';
import { applyRepetitionPenalty, applyTemperature, applyTopK, applyTopP, expStats } from './processors.js';
import { argmax } from './top-indices.js';

export interface Sampler {
  /** Picks the next token; `seen` is every token id so far (prompt and generated). */
  sample(logits: Float32Array, seen: Iterable<number>): number;
  readonly greedy: boolean;
  /** The seed in use (drawn from the OS when the settings give none); reuse it to reproduce. */
  readonly seed: number;
}

export function validateSampling(settings: SamplingSettings = {}): void {
  const { temperature, topK, topP, repetitionPenalty, seed, maxTokens } = settings;
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new InvalidSamplingError(what);
  };
  if (temperature !== undefined)
    check(Number.isFinite(temperature) && temperature >= 0, `temperature must be a finite number >= 0 (0 = greedy), got ${temperature}`);
  if (topK !== undefined) check(Number.isInteger(topK) && topK >= 0, `topK must be an integer >= 0 (0 = off), got ${topK}`);
  if (topP !== undefined) check(Number.isFinite(topP) && topP > 0 && topP <= 1, `topP must be in (0, 1], got ${topP}`);
  if (repetitionPenalty !== undefined)
    check(Number.isFinite(repetitionPenalty) && repetitionPenalty > 0, `repetitionPenalty must be a finite number > 0 (1 = off), got ${repetitionPenalty}`);
  if (seed !== undefined) check(Number.isInteger(seed), `seed must be an integer, got ${seed}`);
  if (maxTokens !== undefined) check(Number.isInteger(maxTokens) && maxTokens >= 1, `maxTokens must be an integer >= 1, got ${maxTokens}`);
}

export function createSampler(settings: SamplingSettings = {}): Sampler {
  validateSampling(settings);
  const temperature = settings.temperature ?? 0;
  const penalty = settings.repetitionPenalty ?? 1;
  const topK = settings.topK ?? 0;
  const topP = settings.topP ?? 1;
  const greedy = temperature === 0;
  const seed = settings.seed ?? randomSeed();
  const random: Random = seededRandom(seed);
  let work: Float32Array | undefined;

  return {
    greedy,
    seed,
    sample(logits, seen) {
      if (greedy && penalty === 1) return argmax(logits);
      if (!work || work.length !== logits.length) work = new Float32Array(logits.length);
      work.set(logits);
      applyRepetitionPenalty(work, seen, penalty);
      if (greedy) return argmax(work);
      applyTemperature(work, temperature);
      applyTopK(work, topK);
      applyTopP(work, topP);
      return sampleCategorical(work, random);
    },
  };
}

/** Draws an index with probability softmax(scores); -Infinity entries are never drawn. */
export function sampleCategorical(scores: Float32Array, random: Random): number {
  const { max, sum } = expStats(scores);
  if (sum === 0) return argmax(scores);
  const target = random.next() * sum;
  let acc = 0;
  let last = -1;
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] === -Infinity) continue;
    acc += Math.exp(scores[i] - max);
    last = i;
    if (acc > target) return i;
  }
  return last; // rounding left target just above the total
}
