import { A, type GraphBuilder } from './graph-builder.js';

/** Names of the sampling inputs of a decoder with the in-graph decode loop. */
export const SampleIO = {
  temperature: 'sample_temperature',
  topK: 'sample_top_k',
  topP: 'sample_top_p',
  /** One U[0,1) number per chosen token, drawn by the caller (so its seed decides). */
  uniforms: 'sample_uniforms',
};

export interface SampleParams {
  temperature: number;
  /** 0 means no top-k cut. */
  topK: number;
  topP: number;
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
  const hit = g.op('Cast', [g.op('Greater', [g.op('CumSum', [norm, axis]), u])], { to: A.i(6) });
  const choice = g.op('ArgMax', [hit], { axis: A.i(-1), keepdims: A.i(1) }); // first index past u
  return g.op('Reshape', [g.op('GatherElements', [idx, choice], { axis: A.i(-1) }), g.constI64([1, 1])]);
}

/** The same choice in JS (f64 arithmetic; agrees with the graph except at exact boundaries). */
export function chooseToken(logits: ArrayLike<number>, p: SampleParams, u: number): number {
  const V = logits.length;
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const k = p.topK > 0 ? Math.min(p.topK, V) : V;
  const top = order.slice(0, k);
  const z = top.map((i) => logits[i] / p.temperature);
  const m = Math.max(...z);
  const e = z.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  const probs = e.map((x) => x / s);
  let before = 0;
  const kept = probs.map((q) => {
    const keep = before < p.topP;
    before += q;
    return keep ? q : 0;
  });
  const total = kept.reduce((a, b) => a + b, 0);
  let c = 0;
  for (let i = 0; i < k; i++) {
    c += kept[i] / total;
    if (c > u) return top[i];
  }
  return top[0];
}
