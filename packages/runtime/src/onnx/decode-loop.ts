import { A, GraphBuilder, type FloatElem } from './graph-builder.js';
import type { ExternalDataWriter } from './external-data.js';
import type { TextSpec } from './config.js';
import type { WeightWriter } from './weights.js';
import { DecoderIO, buildDecoderGraph } from './text-graph.js';
import { slice } from './nn.js';
import { chooseTokenInGraph, penalizeInGraph, SampleIO } from './token-choice.js';

/** Extra I/O of a decoder graph that carries the greedy decode loop. */
export const LoopIO = {
  steps: 'greedy_steps',
  tokens: 'greedy_tokens',
  logits: 'greedy_logits',
  /** Per token chosen in the loop: its log-probability and the top alternatives' (raw distribution). */
  tokenLogprobs: 'greedy_token_logprobs',
  topLogprobs: 'greedy_top_logprobs',
  topIds: 'greedy_top_ids',
  /** What the decoder part writes before the loop takes over the cache. */
  stepPresent: (name: string) => `step_${name}`,
};

/**
 * Appends a Loop to a decoder graph: after the fed tokens, `greedy_steps` more tokens are chosen
 * (greedy, or sampled with caller-drawn uniforms, with an optional repetition penalty; see
 * token-choice.ts) and fed inside onnxruntime, with the self-attention KV cache as loop state;
 * on request the loop also returns each token's log-probabilities. The cache
 * therefore crosses between JS and the device once per run instead of once per token, which is
 * what matters on CUDA (the Node binding copies every input and output through host memory).
 * The loop body is the same decoder reading the outer graph's weights, so nothing is duplicated.
 * With greedy_steps = 0 the graph behaves exactly like the plain decoder.
 */
export async function addGreedyLoop(outer: GraphBuilder, data: ExternalDataWriter, spec: TextSpec, w: WeightWriter, opts: { fused: boolean }): Promise<void> {
  const cross = new Set(spec.crossAttentionLayers);
  const selfLayers = [...Array(spec.numLayers).keys()].filter((i) => !cross.has(i));
  const { numKvHeads: kvh, headDim: hd, vocabSize: V } = spec;
  const kvDims = [1, kvh, 'total_sequence_length', hd] as (number | string)[];
  const F = outer.floatElem; // the KV cache's element type

  outer.scope = 'greedy';
  const steps = outer.input(LoopIO.steps, 'int64', []);
  outer.input(SampleIO.temperature, 'float32', []);
  outer.input(SampleIO.topK, 'int64', []);
  outer.input(SampleIO.topP, 'float32', []);
  const uniforms = outer.input(SampleIO.uniforms, 'float32', ['greedy_steps_plus_1']);
  outer.input(SampleIO.repetitionPenalty, 'float32', []);
  const topK = outer.input(SampleIO.topLogprobs, 'int64', []);
  // -1: no log-probabilities. TopK needs k >= 1, so k = 0 (the chosen token's alone) asks for
  // one alternative and the caller reads none of them.
  const kAsList = outer.op('Reshape', [outer.op('Max', [topK, outer.constI64([1], [])]), outer.constI64([1])], {}, 'loop_top_logprobs_k');
  const wantLogprobs = outer.op('Not', [outer.op('Less', [topK, outer.constI64([0], [])])], {}, 'loop_want_logprobs');
  // The ids seen so far (for the repetition penalty); the loop carries the list and appends each
  // token it feeds.
  const seenIds = outer.input(SampleIO.seenIds, 'int64', ['seen_count']);
  for (const i of selfLayers) {
    outer.dropOutput(LoopIO.stepPresent(DecoderIO.presentKey(i)));
    outer.dropOutput(LoopIO.stepPresent(DecoderIO.presentValue(i)));
  }
  const lastLogits = slice(outer, DecoderIO.logits, 1, -1, 2 ** 62); // [1, 1, V]
  const u0 = outer.op('Gather', [uniforms, outer.constI64([0], [])], { axis: A.i(0) });
  const firstToken = chooseTokenInGraph(outer, penalizeInGraph(outer, lastLogits, seenIds), u0, V); // [1, 1]
  const firstPos = outer.op('Add', [slice(outer, DecoderIO.positionIds, 1, -1, 2 ** 62), outer.constI64([1], [1, 1])]);
  const condTrue = outer.initializer('greedy_cond_true', 'bool', [], new Uint8Array([1]));
  outer.initializer('loop_logits_from', 'int64', [1], new Uint8Array(new BigInt64Array([0n]).buffer));
  if (cross.size > 0) {
    // Every generated row repeats the prompt's last cross-attention mask row (as HF does).
    outer.op('Identity', [slice(outer, DecoderIO.crossMask, 2, -1, 2 ** 62)], {}, 'loop_cross_mask');
    outer.op('Identity', [slice(outer, DecoderIO.rowMask, 2, -1, 2 ** 62)], {}, 'loop_row_mask');
  }

  // The body: one decoder step on the carried token.
  const body = new GraphBuilder('greedy_step', data, outer, 'loop/');
  const rename: Record<string, string> = {
    [DecoderIO.inputIds]: 'loop.token',
    [DecoderIO.positionIds]: 'loop.position',
    [DecoderIO.logitsFrom]: 'loop_logits_from',
    [DecoderIO.crossMask]: 'loop_cross_mask',
    [DecoderIO.rowMask]: 'loop_row_mask',
    [DecoderIO.logits]: 'loop.logits',
  };
  for (const i of selfLayers) {
    rename[DecoderIO.pastKey(i)] = `loop.past.${i}.key`;
    rename[DecoderIO.pastValue(i)] = `loop.past.${i}.value`;
    rename[DecoderIO.presentKey(i)] = `loop.present.${i}.key`;
    rename[DecoderIO.presentValue(i)] = `loop.present.${i}.value`;
  }
  body.names = (n) => rename[n] ?? n;
  for (const n of Object.values(rename)) body.bound.add(n);
  for (const i of cross) {
    body.bound.add(DecoderIO.crossKey(i));
    body.bound.add(DecoderIO.crossValue(i));
  }
  body.declareOutputs = false;
  // The body's self-attention reads the cache the run started with where the decoder part left
  // it and carries only the loop's own positions (see splitCache), so no iteration copies it.
  const startKey = (i: number) => LoopIO.stepPresent(DecoderIO.presentKey(i));
  const startValue = (i: number) => LoopIO.stepPresent(DecoderIO.presentValue(i));
  for (const i of selfLayers) {
    body.bound.add(startKey(i));
    body.bound.add(startValue(i));
  }
  await buildDecoderGraph(body, spec, w, { fused: opts.fused, splitCache: { key: startKey, value: startValue } });
  body.scope = 'greedy';
  const uNext = body.op('Gather', [uniforms, body.op('Add', ['loop.iter', body.constI64([1], [])])], { axis: A.i(0) });
  const seenNext = body.op('Concat', ['loop.seen', body.op('Reshape', ['loop.token', body.constI64([1])])], { axis: A.i(0) });
  const next = chooseTokenInGraph(body, penalizeInGraph(body, 'loop.logits', seenNext), uNext, V);
  const nextPos = body.op('Add', ['loop.position', body.constI64([1], [1, 1])]);
  // For the token this iteration feeds (the scan output `fed`): the log-probabilities of the raw
  // distribution it was chosen from (the previous logits, before any processor). Only when
  // asked for (an If): the vocabulary-wide work is skipped otherwise.
  const [chosenLogprob, topValues, topIds] = body.ifElse(
    wantLogprobs,
    [
      ['float32', [1, 1]],
      ['float32', [1, 1, 'top_logprobs']],
      ['int64', [1, 1, 'top_logprobs']],
    ],
    (b) => {
      const logprobs = b.op('LogSoftmax', ['loop.prev_logits'], { axis: A.i(-1) });
      const chosen = b.op('Reshape', [b.op('GatherElements', [logprobs, b.op('Unsqueeze', ['loop.token', b.constI64([2])])], { axis: A.i(-1) }), b.constI64([1, 1])]);
      const [values, ids] = b.opN('TopK', [logprobs, kAsList], 2, { axis: A.i(-1), largest: A.i(1), sorted: A.i(1) });
      return [chosen, values, ids];
    },
    (b) => [b.constF32([0], [1, 1]), b.op('Expand', [b.constF32([0], [1]), b.constI64([1, 1, 0])]), b.op('Expand', [b.constI64([0], [1]), b.constI64([1, 1, 0])])],
  );
  const condOut = body.op('Identity', ['loop.cond']);
  const fed = body.op('Identity', ['loop.token']);
  const logitsOut = body.op('Identity', ['loop.logits']);
  body.setIO(
    [
      ['loop.iter', 'int64', []],
      ['loop.cond', 'bool', []],
      ['loop.token', 'int64', [1, 1]],
      ['loop.position', 'int64', [1, 1]],
      ['loop.prev_logits', 'float32', [1, 1, V]],
      ...selfLayers.flatMap((i) => [
        [`loop.past.${i}.key`, F, [1, kvh, 'past_sequence_length', hd]],
        [`loop.past.${i}.value`, F, [1, kvh, 'past_sequence_length', hd]],
      ]) as Array<[string, FloatElem, (number | string)[]]>,
      ['loop.seen', 'int64', ['seen_count']],
    ],
    [
      [condOut, 'bool', []],
      [next, 'int64', [1, 1]],
      [nextPos, 'int64', [1, 1]],
      [logitsOut, 'float32', [1, 1, V]],
      ...selfLayers.flatMap((i) => [
        [`loop.present.${i}.key`, F, kvDims],
        [`loop.present.${i}.value`, F, kvDims],
      ]) as Array<[string, FloatElem, (number | string)[]]>,
      [seenNext, 'int64', ['seen_count_next']],
      [fed, 'int64', [1, 1]],
      [chosenLogprob, 'float32', [1, 1]],
      [topValues, 'float32', [1, 1, 'top_logprobs']],
      [topIds, 'int64', [1, 1, 'top_logprobs']],
    ],
  );

  outer.scope = 'greedy';
  // The loop's own cache starts empty ([1, kvh, 0, hd]); the run's present is the start cache
  // followed by it, joined once per run.
  const empty = (x: string) => slice(outer, x, 2, 0, 0);
  const loopKey = (i: number) => `loop_fed.${i}.key`;
  const loopValue = (i: number) => `loop_fed.${i}.value`;
  outer.opN(
    'Loop',
    [steps, condTrue, firstToken, firstPos, lastLogits, ...selfLayers.flatMap((i) => [empty(startKey(i)), empty(startValue(i))]), seenIds],
    ['greedy_next_token', 'greedy_next_position', LoopIO.logits, ...selfLayers.flatMap((i) => [loopKey(i), loopValue(i)]), 'greedy_seen', LoopIO.tokens, LoopIO.tokenLogprobs, LoopIO.topLogprobs, LoopIO.topIds],
    { body: A.g(body) },
  );
  for (const i of selfLayers) {
    outer.op('Concat', [startKey(i), loopKey(i)], { axis: A.i(2) }, DecoderIO.presentKey(i));
    outer.op('Concat', [startValue(i), loopValue(i)], { axis: A.i(2) }, DecoderIO.presentValue(i));
    outer.output(DecoderIO.presentKey(i), F, kvDims);
    outer.output(DecoderIO.presentValue(i), F, kvDims);
  }
  outer.output(LoopIO.logits, 'float32', [1, 1, V]);
  outer.output(LoopIO.tokens, 'int64', ['greedy_steps', 1, 1]);
  outer.output(LoopIO.tokenLogprobs, 'float32', ['greedy_steps', 1, 1]);
  outer.output(LoopIO.topLogprobs, 'float32', ['greedy_steps', 1, 1, 'top_logprobs']);
  outer.output(LoopIO.topIds, 'int64', ['greedy_steps', 1, 1, 'top_logprobs']);
}
