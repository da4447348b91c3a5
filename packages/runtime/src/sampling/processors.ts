/**
 * Logits processors, applied in Hugging Face's order: repetition penalty, temperature, top-k,
 * top-p. Each is a small deterministic function of its arguments that rewrites the score vector
 * it is handed in place and returns it; the sampler only ever hands them its own working copy,
 * never the engine's logits. Filtered-out tokens are set to -Infinity, as HF does.
 */
import { topIndices } from './top-indices.js';

/**
 * HF's RepetitionPenaltyLogitsProcessor: for every token already seen (prompt and output), a
 * positive score is divided by `penalty` and a negative one multiplied by it.
 */
export function applyRepetitionPenalty(scores: Float32Array, seen: Iterable<number>, penalty: number): Float32Array {
  if (penalty === 1) return scores;
  // HF multiplies f32 scores by the penalty as an f32 scalar; so does the in-graph sampler.
  const p = Math.fround(penalty);
  const done = new Set<number>();
  for (const id of seen) {
    if (id < 0 || id >= scores.length || done.has(id)) continue;
    done.add(id);
    const s = scores[id];
    scores[id] = s > 0 ? s / p : s * p;
  }
  return scores;
}

/** Divides every score by the temperature (> 0); lower is sharper. */
export function applyTemperature(scores: Float32Array, temperature: number): Float32Array {
  if (temperature === 1) return scores;
  const inv = 1 / temperature;
  for (let i = 0; i < scores.length; i++) scores[i] *= inv;
  return scores;
}

/** Keeps the k highest scores (ties with the k-th are kept, as in HF) and masks the rest. */
export function applyTopK(scores: Float32Array, k: number): Float32Array {
  if (k <= 0 || k >= scores.length) return scores;
  const top = topIndices(scores, k);
  if (top.length < k) return scores; // fewer finite scores than k: nothing to cut
  const threshold = scores[top[top.length - 1]];
  for (let i = 0; i < scores.length; i++) if (scores[i] < threshold) scores[i] = -Infinity;
  return scores;
}

/**
 * Nucleus filtering: keeps the smallest set of highest-probability tokens whose probabilities
 * sum to at least `p` (a token is kept when the mass ranked strictly above it is < p), and
 * masks the rest. At least one token is always kept.
 */
export function applyTopP(scores: Float32Array, p: number): Float32Array {
  if (p >= 1) return scores;
  const { max, sum } = expStats(scores);
  if (sum === 0) return scores;
  // Widen the sorted head until it holds the nucleus; usually the first round suffices.
  let take = 64;
  for (;;) {
    const head = topIndices(scores, take);
    let above = 0;
    let kept = -1;
    for (let j = 0; j < head.length; j++) {
      if (above >= p) {
        kept = j;
        break;
      }
      above += Math.exp(scores[head[j]] - max) / sum;
    }
    const exhausted = head.length < take;
    if (kept === -1 && !exhausted) {
      take *= 4;
      continue;
    }
    if (kept === -1) return scores; // the whole finite vocabulary is the nucleus
    const keep = new Set(head.slice(0, kept));
    for (let i = 0; i < scores.length; i++) if (!keep.has(i)) scores[i] = -Infinity;
    return scores;
  }
}

/** Max and sum of exp(score - max), in float64; the normaliser of a softmax. */
export function expStats(scores: ArrayLike<number>): { max: number; sum: number } {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
  if (max === -Infinity) return { max, sum: 0 };
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += Math.exp(scores[i] - max);
  return { max, sum };
}
