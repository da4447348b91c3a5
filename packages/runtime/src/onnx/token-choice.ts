import { OnnxError } from './errors.js';
import { A, type GraphBuilder } from './graph-builder.js';

/** Names of the sampling inputs of a decoder with the in-graph decode loop. */
export const SampleIO = {
  temperature: 'sample_temperature',
  topK: 'sample_top_k',
  topP: 'sample_top_p',
  /** One U[0,1) number per chosen token, drawn by the caller (so its seed decides). */
  uniforms: 'sample_uniforms',
  /** HF's repetition penalty (1 = off) and the ids it applies to: every id so far, once each. */
  repetitionPenalty: 'sample_repetition_penalty',
  seenIds: 'sample_seen_ids',
  /** How many alternatives' log-probabilities to return per chosen token (0-100; -1 = none at all). */
  topLogprobs: 'sample_top_logprobs',
};

export interface SampleParams {
  temperature: number;
  /** 0 means no top-k cut. */
  topK: number;
  topP: number;
  /** HF's repetition penalty over every id so far (1 or absent = off). */
  repetitionPenalty?: number;
  /** Return each in-graph token's log-probability and this many alternatives' (absent = none). */
  topLogprobs?: number;
}

/**
 * HF's RepetitionPenaltyLogitsProcessor in the graph, on logits [1, 1, V] and the ids seen so far
 * (int64 [n], repeats allowed): a positive seen score is divided by the penalty, a negative one
 * multiplied. Only when the penalty is not 1 (an If), so requests without one pay nothing; the
 * work is over the n seen ids, not the vocabulary.
 */
export function penalizeInGraph(g: GraphBuilder, logits: string, seenIds: string): string {
  const penalty = SampleIO.repetitionPenalty;
  const on = g.op('Not', [g.op('Equal', [penalty, g.constF32([1], [])])]);
  const [out] = g.ifElse(
    on,
    [['float32', [1, 1, 'vocab']]],
    (b) => {
      const idx = b.op('Reshape', [seenIds, b.constI64([1, 1, -1])]);
      const scores = b.op('GatherElements', [logits, idx], { axis: A.i(-1) });
      const penalized = b.op('Where', [b.op('Greater', [scores, b.constF32([0], [])]), b.op('Div', [scores, penalty]), b.op('Mul', [scores, penalty])]);
      return [b.op('ScatterElements', [logits, idx, penalized], { axis: A.i(-1) })];
    },
    (b) => [b.op('Identity', [logits])],
  );
  return out;
}

/**
 * Chooses the next token from logits [1, 1, V] in the graph: temperature, top-k, top-p (keeps
 * the smallest prefix of the sorted distribution whose mass before each kept token is < top_p),
 * then the inverse CDF at `u`. top_k = 1 is greedy (argmax). `chooseToken` below is the same
 * procedure in JS, for the first token of a run and for tests.
 */
export function chooseTokenInGraph(g: GraphBuilder, logits: string, u: string, vocab: number): string {
  const z = g.op('Div', [logits, SampleIO.temperature]);
  const kRaw = g.op('Where', [g.op('Greater', [SampleIO.topK, g.constI64([0], [])]), SampleIO.topK, g.constI64([vocab], [])]);
  const k = g.op('Reshape', [g.op('Min', [kRaw, g.constI64([vocab], [])]), g.constI64([1])]);
  const [vals, idx] = g.opN('TopK', [z, k], 2, { axis: A.i(-1), largest: A.i(1), sorted: A.i(1) });
  const probs = g.op('Softmax', [vals], { axis: A.i(-1) });
  const axis = g.constI64([-1], []);
  const cum = g.op('CumSum', [probs, axis]);
  const keep = g.op('Less', [g.op('Sub', [cum, probs]), SampleIO.topP]);
  const kept = g.op('Where', [keep, probs, g.constF32([0], [])]);
  const norm = g.op('Div', [kept, g.op('ReduceSum', [kept, g.constI64([-1])], { keepdims: A.i(1) })]);
  // The first index whose CDF passes u is the number of indices whose CDF does not (the CDF never
  // decreases). Counting, not ArgMax over 0/1 flags: ArgMax's tie order is not guaranteed on
  // every provider (cuDNN's reductions), and the count is exact in f32 (fewer than 2^24 ids).
  // Past the end (rounding) falls back to the first candidate, as chooseToken does.
  const below = g.op('Cast', [g.op('Not', [g.op('Greater', [g.op('CumSum', [norm, axis]), u])])], { to: A.i(1) });
  const first = g.op('Cast', [g.op('ReduceSum', [below, g.constI64([-1])], { keepdims: A.i(1) })], { to: A.i(7) });
  const choice = g.op('Where', [g.op('Less', [first, k]), first, g.constI64([0], [])]);
  return g.op('Reshape', [g.op('GatherElements', [idx, choice], { axis: A.i(-1) }), g.constI64([1, 1])]);
}

/**
 * exp(z - max) below e^-60 (about 2^-86) is negligible: added to any running sum of the walk
 * below (the normaliser is at least 1; the top-p mass, the kept mass and the CDF are at least
 * the most likely token's share) it is under half an ulp and rounds away. Skipping such tokens
 * therefore leaves every sum, and so the chosen token, exactly as with the full sorted vocabulary.
 */
const NEGLIGIBLE_EXPONENT = -60;

/**
 * The same choice in JS (f64 arithmetic; agrees with the graph except at exact boundaries).
 * It picks exactly the token a full sort of the vocabulary would (descending logit, lower id
 * first on ties, sums taken in that order), but sorts only the candidates that can matter:
 * top-k 1 is one pass (argmax), a top-k cut is a bounded heap, and tokens whose probability
 * cannot move any sum are skipped. NaN logits are never chosen.
 */
export function chooseToken(logits: ArrayLike<number>, p: SampleParams, u: number): number {
  const V = logits.length;
  if (!(p.temperature > 0)) throw new OnnxError('ONNX_BAD_INPUT', `sampling temperature ${p.temperature} must be > 0`);
  const best = firstArgmax(logits);
  if (best < 0) throw new OnnxError('ONNX_BAD_INPUT', `chooseToken needs at least one logit that is not NaN (got ${V} entries)`);
  const k = p.topK > 0 ? Math.floor(Math.min(p.topK, V)) : V;
  if (k <= 1) return best;
  const T = p.temperature;
  const m = logits[best] / T;
  // +-Infinity at the top turns every probability into NaN: the walk below would find nothing.
  if (!Number.isFinite(m)) return best;

  const top = largestValues(logits, k, T, m); // descending, length <= k
  const n = top.length;
  const e = new Float64Array(n);
  let s = 0;
  for (let i = 0; i < n; i++) {
    e[i] = Math.exp(top[i] / T - m);
    s += e[i];
  }
  // Top-p: keep while the mass before a token is < top_p (the first token always stays).
  let before = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const q = e[i] / s;
    const keep = before < p.topP;
    before += q;
    e[i] = keep ? q : 0;
    total += e[i];
  }
  // Inverse CDF at u over the kept candidates; past the end (rounding) falls back to the first.
  let c = 0;
  for (let i = 0; i < n; i++) {
    c += e[i] / total;
    if (c > u) return tokenAtRank(logits, top, i);
  }
  return best;
}

/** Index of the largest logit, the lowest on ties; NaN is skipped; -1 when every entry is NaN. */
function firstArgmax(logits: ArrayLike<number>): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (v > bestValue || (best < 0 && v === -Infinity)) {
      best = i;
      bestValue = v;
    }
  }
  return best;
}

/**
 * The values of the k largest logits that are not negligible (see NEGLIGIBLE_EXPONENT), in
 * descending order. Only values: the token of a rank is recovered afterwards by tokenAtRank.
 */
function largestValues(logits: ArrayLike<number>, k: number, T: number, m: number): Float64Array {
  const V = logits.length;
  let n = 0;
  const candidates = new Float64Array(V);
  for (let i = 0; i < V; i++) {
    const v = logits[i];
    if (v / T - m >= NEGLIGIBLE_EXPONENT) candidates[n++] = v;
  }
  let kept: Float64Array = candidates.subarray(0, n);
  // A min-heap of the k largest when the cut is much smaller than the candidates; otherwise a
  // native numeric sort of them all is faster.
  if (k * 8 < n) kept = heapOfLargest(kept, k);
  kept.sort();
  kept.reverse();
  return kept.length > k ? kept.subarray(0, k) : kept;
}

/** The k largest entries of `values` (k < values.length), unordered. */
function heapOfLargest(values: Float64Array, k: number): Float64Array {
  const heap = values.slice(0, k);
  // Heapify the first k, then let each larger value replace the smallest kept one.
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(heap, i);
  for (let i = k; i < values.length; i++) {
    if (values[i] > heap[0]) {
      heap[0] = values[i];
      siftDown(heap, 0);
    }
  }
  return heap;
}

function siftDown(heap: Float64Array, i: number): void {
  const size = heap.length;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let min = i;
    if (l < size && heap[l] < heap[min]) min = l;
    if (r < size && heap[r] < heap[min]) min = r;
    if (min === i) return;
    const t = heap[i];
    heap[i] = heap[min];
    heap[min] = t;
    i = min;
  }
}

/**
 * The token at rank `rank` of the descending order: equal logits rank by ascending id, so it is
 * the j-th token (in id order) holding that rank's value, j = how many equal values rank above.
 */
function tokenAtRank(logits: ArrayLike<number>, sorted: Float64Array, rank: number): number {
  const v = sorted[rank];
  let j = 0;
  while (j < rank && sorted[rank - 1 - j] === v) j++;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] === v && j-- === 0) return i;
  }
  throw new OnnxError('ONNX_BAD_INPUT', 'logits changed while a token was being chosen');
}
