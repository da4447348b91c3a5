/**
 * Log-probabilities of the model's raw next-token distribution (before sampling processors), in
 * float64 JS: what guards read as scores and what 'token' events report.
 */
import { expStats } from './processors.js';
import { topIndices } from './top-indices.js';

export interface IdLogprob {
  id: number;
  logprob: number;
}

/** log(sum(exp(logits))), computed stably. */
export function logSumExp(logits: ArrayLike<number>): number {
  const { max, sum } = expStats(logits);
  return max + Math.log(sum);
}

/** The full log-softmax vector (allocates vocab-sized output; prefer logprobOf/topLogprobs per step). */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  const lse = logSumExp(logits);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
  return out;
}

/** The chosen token's log-probability and the `k` most likely alternatives, most likely first. */
export function tokenLogprobs(logits: ArrayLike<number>, chosen: number, k: number): { chosen: IdLogprob; top: IdLogprob[] } {
  const lse = logSumExp(logits);
  const top = k > 0 ? topIndices(logits, k).map((id) => ({ id, logprob: logits[id] - lse })) : [];
  return { chosen: { id: chosen, logprob: logits[chosen] - lse }, top };
}
