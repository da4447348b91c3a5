import { A, type GraphBuilder } from './graph-builder.js';

/**
 * Small graph-building helpers for the layers Llama and Mllama share. Each one emits the same
 * sequence of operations HF's eager PyTorch code runs, so results match to rounding. They work
 * in the graph's compute type (g.floatElem); where HF upcasts a half-precision model to float32
 * (RMSNorm statistics, attention softmax) they do the same.
 */

export const F32_MIN = -3.4028234663852886e38;

export function reshape(g: GraphBuilder, x: string, dims: number[]): string {
  return g.op('Reshape', [x, g.constI64(dims)]);
}

export function transpose(g: GraphBuilder, x: string, perm: number[]): string {
  return g.op('Transpose', [x], { perm: A.ints(perm) });
}

export function unsqueeze(g: GraphBuilder, x: string, axes: number[]): string {
  return g.op('Unsqueeze', [x, g.constI64(axes)]);
}

/** x[..., start:end] along one axis (end may be a huge number for "to the end"). */
export function slice(g: GraphBuilder, x: string, axis: number, start: number | string, end: number | string): string {
  const s = typeof start === 'number' ? g.constI64([start]) : start;
  const e = typeof end === 'number' ? g.constI64([end]) : end;
  return g.op('Slice', [x, s, e, g.constI64([axis])]);
}

/** LlamaRMSNorm: w * (x * rsqrt(mean(x^2) + eps)), the statistics in float32 (x^2 overflows f16). */
export function rmsNorm(g: GraphBuilder, x: string, weight: string, eps: number): string {
  const x32 = g.toF32(x);
  const sq = g.op('Mul', [x32, x32]);
  const mean = g.op('ReduceMean', [sq], { axes: A.ints([-1]), keepdims: A.i(1) });
  const rstd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [mean, g.constF32([eps], [])])])]);
  return g.op('Mul', [weight, g.fromF32(g.op('Mul', [x32, rstd]))]);
}

export function layerNorm(g: GraphBuilder, x: string, weight: string, bias: string, eps: number): string {
  return g.op('LayerNormalization', [x, weight, bias], { axis: A.i(-1), epsilon: A.f(eps) });
}

/** Exact (erf) GELU: 0.5 * x * (1 + erf(x / sqrt(2))). */
export function gelu(g: GraphBuilder, x: string): string {
  const e = g.op('Erf', [g.op('Div', [x, g.constF([Math.SQRT2], [])])]);
  return g.op('Mul', [g.op('Mul', [x, g.constF([0.5], [])]), g.op('Add', [e, g.constF([1], [])])]);
}

export function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}

export function tanh(g: GraphBuilder, x: string): string {
  return g.op('Tanh', [x]);
}

/**
 * Scaled dot-product attention with grouped KV heads, without materialising repeated K/V:
 * q [1, nh, T, d] is viewed as [1, nkv, nh/nkv, T, d] against k/v [1, nkv, 1, S, d].
 * `bias` is an additive mask broadcastable to [1, 1, T, S] (or null).
 */
export function groupedAttention(
  g: GraphBuilder,
  q: string,
  k: string,
  v: string,
  bias: string | null,
  dims: { numHeads: number; numKvHeads: number; headDim: number },
): string {
  const { numHeads, numKvHeads, headDim } = dims;
  const rep = numHeads / numKvHeads;
  let q5 = q;
  let k5 = k;
  let v5 = v;
  if (rep > 1) {
    q5 = reshape(g, q, [0, numKvHeads, rep, -1, headDim]);
    k5 = unsqueeze(g, k, [2]);
    v5 = unsqueeze(g, v, [2]);
  }
  const kt = transpose(g, k5, rep > 1 ? [0, 1, 2, 4, 3] : [0, 1, 3, 2]);
  let scores = g.op('Div', [g.op('MatMul', [q5, kt]), g.constF([Math.sqrt(headDim)], [])]);
  if (bias) scores = g.op('Add', [scores, rep > 1 ? unsqueeze(g, bias, [2]) : bias]);
  // Softmax in float32, as HF's eager attention does for half-precision models.
  const probs = g.fromF32(g.op('Softmax', [g.toF32(scores)], { axis: A.i(-1) }));
  let out = g.op('MatMul', [probs, v5]);
  if (rep > 1) out = reshape(g, out, [0, numHeads, -1, headDim]);
  return out;
}

/**
 * Attention of one query position over a KV cache held in several parts (concatenated along the
 * sequence, in order), without concatenating them: scores per part, one softmax over all of
 * them, then the parts' weighted values summed. Each part's K is read where it lies: the scores
 * are q · Kᵀ with the transpose on K's last two axes, which onnxruntime folds into the MatMul
 * (FusedMatMul with transB) rather than copying K. No mask: the query is the latest position and
 * sees every key. q [1, nh, 1, d]; each part's k and v [1, nkv, S_part, d]. Plain ops only.
 */
export function splitCacheAttention(
  g: GraphBuilder,
  q: string,
  parts: Array<{ k: string; v: string }>,
  dims: { numHeads: number; numKvHeads: number; headDim: number },
): string {
  const { numHeads, numKvHeads, headDim } = dims;
  // One position: the query rows grouped under their KV head are a reshape, [1, nkv, nh/nkv, d].
  const qRows = reshape(g, q, [0, numKvHeads, numHeads / numKvHeads, headDim]);
  const scores = parts.map((p) => g.op('MatMul', [qRows, transpose(g, p.k, [0, 1, 3, 2])]));
  const scaled = g.op('Div', [g.op('Concat', scores, { axis: A.i(-1) }), g.constF([Math.sqrt(headDim)], [])]);
  const probs = g.fromF32(g.op('Softmax', [g.toF32(scaled)], { axis: A.i(-1) }));
  const lengths = g.op('Concat', parts.map((p) => g.op('Shape', [p.k], { start: A.i(2), end: A.i(3) })), { axis: A.i(0) });
  const perPart = g.opN('Split', [probs, lengths], parts.length, { axis: A.i(-1) });
  const weighted = perPart.map((w, i) => g.op('MatMul', [w, parts[i].v]));
  const out = weighted.reduce((sum, x) => g.op('Add', [sum, x]));
  return reshape(g, out, [0, numHeads, 1, headDim]);
}

/** [1, T, n*d] -> [1, n, T, d] */
export function splitHeads(g: GraphBuilder, x: string, n: number, d: number): string {
  return transpose(g, reshape(g, x, [0, -1, n, d]), [0, 2, 1, 3]);
}

/** [1, n, T, d] -> [1, T, n*d] */
export function mergeHeads(g: GraphBuilder, x: string, n: number, d: number): string {
  return reshape(g, transpose(g, x, [0, 2, 1, 3]), [0, -1, n * d]);
}
