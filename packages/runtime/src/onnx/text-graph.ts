import { A, type GraphBuilder } from './graph-builder.js';
import type { TextSpec } from './config.js';
import type { WeightWriter } from './weights.js';
import { ropeCaches, ropeInvFreq } from './rope.js';
import { f32ToF16Bits } from '../weights/index.js';
import { bytesOf as bytesOfView } from './weights.js';
import { groupedAttention, mergeHeads, reshape, rmsNorm, silu, slice, splitCacheAttention, splitHeads, tanh, unsqueeze } from './nn.js';

/**
 * Graph I/O names of the decoder. Self-attention layers take and return a KV cache; each
 * Mllama cross-attention layer takes its K/V (from the vision graph) as an input.
 */
export const DecoderIO = {
  inputIds: 'input_ids',
  positionIds: 'position_ids',
  logitsFrom: 'logits_from',
  crossMask: 'cross_attention_mask',
  rowMask: 'full_text_row_masked_out_mask',
  logits: 'logits',
  pastKey: (layer: number) => `past_key_values.${layer}.key`,
  pastValue: (layer: number) => `past_key_values.${layer}.value`,
  presentKey: (layer: number) => `present.${layer}.key`,
  presentValue: (layer: number) => `present.${layer}.value`,
  crossKey: (layer: number) => `cross_key_values.${layer}.key`,
  crossValue: (layer: number) => `cross_key_values.${layer}.value`,
  hidden: (i: number) => `hidden_states.${i}`,
};

export interface DecoderGraphOptions {
  /** Also output every layer's hidden states (for parity checks against HF hidden_states). */
  hiddenStates?: boolean;
  /**
   * Use onnxruntime contrib ops: GroupQueryAttention (with do_rotary and build-time cos/sin
   * caches) for self-attention and SimplifiedLayerNormalization for RMSNorm.
   */
  fused?: boolean;
  /**
   * For the decode loop's body (one token per iteration): self-attention reads its cache in two
   * parts, the KV the run started with (these outer-scope values, read in place) and the loop's
   * own tokens (the carried past/present), so an iteration appends one position to a small cache
   * instead of copying the whole one (GroupQueryAttention writes a new present of past + 1).
   */
  splitCache?: { key: (layer: number) => string; value: (layer: number) => string };
}

/**
 * Builds the decoder: embeddings, self-attention layers with a KV cache (prefill and decode
 * share the graph; the sequence length is dynamic), Mllama cross-attention layers, final norm
 * and lm_head on positions [logits_from, T).
 */
export async function buildDecoderGraph(g: GraphBuilder, spec: TextSpec, w: WeightWriter, opts: DecoderGraphOptions = {}): Promise<void> {
  const { hiddenSize: H, numHeads, numKvHeads, headDim, rmsNormEps: eps } = spec;
  const p = spec.prefix;
  const cross = new Set(spec.crossAttentionLayers);
  const attnDims = { numHeads, numKvHeads, headDim };

  const ids = g.input(g.io(DecoderIO.inputIds), 'int64', [1, 'sequence_length']);
  const pos = g.input(g.io(DecoderIO.positionIds), 'int64', [1, 'sequence_length']);
  const logitsFrom = g.input(g.io(DecoderIO.logitsFrom), 'int64', [1]);
  const F = g.floatElem;
  let crossMask = '';
  let rowMask = '';
  if (cross.size > 0) {
    crossMask = g.input(g.io(DecoderIO.crossMask), 'float32', [1, 1, 'sequence_length', 'vision_length']);
    // The mask arrives in f32 with f32's minimum; in f16 that is -inf, so clamp to f16's minimum.
    if (F === 'float16') crossMask = g.op('Max', [g.fromF32(crossMask), g.constF([g.floatMin], [])]);
    const rm = g.input(g.io(DecoderIO.rowMask), 'float32', [1, 1, 'sequence_length', 1]);
    rowMask = reshape(g, g.fromF32(rm), [1, -1, 1]); // HF: full_text_row_masked_out_mask[:, 0]
  }

  // Embeddings (the Mllama table has 8 extra rows so the image token has one).
  let h = await w.embed(g, `${p}.embed_tokens.weight`, ids);
  if (opts.hiddenStates) g.toF32(h, g.io(DecoderIO.hidden(0)));

  // Rotary cos/sin for these positions, for the plain-op rotation only (the fused ops read
  // build-time tables): freqs = pos * inv_freq (f32, as HF's K=1 matmul), then cos/sin in the
  // compute type (HF casts them to the activations' dtype). Made on first use.
  let posCosSin: { cos: string; sin: string } | undefined;
  const positionCosSin = () => {
    if (posCosSin) return posCosSin;
    const invFreq = g.constF32(ropeInvFreq(spec), [1, 1, headDim / 2]);
    const posF = unsqueeze(g, g.op('Cast', [pos], { to: A.i(1) }), [2]);
    const freqs = g.op('Mul', [posF, invFreq]);
    const embPos = g.op('Concat', [freqs, freqs], { axis: A.i(-1) });
    posCosSin = { cos: g.fromF32(unsqueeze(g, g.op('Cos', [embPos]), [1])), sin: g.fromF32(unsqueeze(g, g.op('Sin', [embPos]), [1])) }; // [1, 1, T, d]
    return posCosSin;
  };

  // The first self-attention layer's past key is declared here (its shape gives the past length);
  // keeping the declaration in this place keeps the graph's input order.
  const firstSelf = [...Array(spec.numLayers).keys()].find((i) => !cross.has(i)) ?? 0;
  const past = g.input(g.io(DecoderIO.pastKey(firstSelf)), F, [1, numKvHeads, 'past_sequence_length', headDim]);

  // Causal additive mask [1, 1, T, past+T]: query i (at past+i) sees keys j <= past+i. Only the
  // plain-op attention over one joined cache reads it (GroupQueryAttention masks inside, and the
  // split-cache loop body feeds one token), so it is made on first use: unused ops would still
  // run on every call.
  let causalMask: string | undefined;
  const selfMask = (): string => {
    if (causalMask) return causalMask;
    const pastLen = g.op('Gather', [g.op('Shape', [past]), g.constI64([2], [])], { axis: A.i(0) });
    const seqLen = g.op('Gather', [g.op('Shape', [ids]), g.constI64([1], [])], { axis: A.i(0) });
    const total = g.op('Add', [pastLen, seqLen]);
    const one = g.constI64([1], []);
    const qPos = g.op('Range', [pastLen, total, one]);
    const kPos = g.op('Range', [g.constI64([0], []), total, one]);
    const future = g.op('Greater', [unsqueeze(g, kPos, [0]), unsqueeze(g, qPos, [1])]);
    const bias = g.op('Where', [future, g.constF([g.floatMin], []), g.constF([0], [])]);
    causalMask = unsqueeze(g, bias, [0, 1]);
    return causalMask;
  };

  // RMSNorm: plain ops (exactly HF's order) or the fused contrib op.
  const norm = (x: string, weight: string): string =>
    opts.fused ? g.op('SimplifiedLayerNormalization', [x, weight], { axis: A.i(-1), epsilon: A.f(eps), stash_type: A.i(1) }) : rmsNorm(g, x, weight, eps);

  // Rotary cos/sin tables [positions, headDim/2] in the compute type, built once (GroupQueryAttention
  // and RotaryEmbedding both read them).
  const ropeTables = (() => {
    const positions = Math.min(spec.maxPositionEmbeddings, 131072);
    const half = headDim / 2;
    let caches: ReturnType<typeof ropeCaches> | undefined;
    const make = () => (caches ??= ropeCaches(ropeInvFreq(spec), positions));
    const asBytes = (t: Float32Array) => (F === 'float16' ? bytesOfView(f32ToF16Bits(t)) : new Uint8Array(t.buffer));
    return () => ({
      cos: g.rootInitializer('rope_cos_cache', F, [positions, half], () => asBytes(make().cos)),
      sin: g.rootInitializer('rope_sin_cache', F, [positions, half], () => asBytes(make().sin)),
    });
  })();

  // GroupQueryAttention inputs: seqlens_k = total - 1 ([1] int32), total length (int32 scalar).
  // onnxruntime's CPU kernel needs head_size % 16 == 0 (real checkpoints: 128); smaller heads
  // (the tiny test models use 8) fall back to the plain-op attention below.
  let gqa: { seqlensK: string; total: string; cos: string; sin: string } | undefined;
  if (opts.fused && headDim % 16 === 0 && !opts.splitCache) {
    const pastLen = g.op('Gather', [g.op('Shape', [past]), g.constI64([2], [])], { axis: A.i(0) });
    const seqLen = g.op('Gather', [g.op('Shape', [ids]), g.constI64([1], [])], { axis: A.i(0) });
    const total = g.op('Cast', [g.op('Add', [pastLen, seqLen])], { to: A.i(6) });
    const seqlensK = g.op('Reshape', [g.op('Sub', [total, g.rootInitializer('gqa_one_i32', 'int32', [], () => new Uint8Array(new Int32Array([1]).buffer))]), g.constI64([1])]);
    gqa = { seqlensK, total, ...ropeTables() };
  }

  // Fused builds whose heads are too small for GroupQueryAttention's CPU kernel still rotate with
  // the contrib RotaryEmbedding (same caches, so the same numbers as the GQA path).
  const fusedRope = opts.fused && !gqa ? ropeTables() : undefined;
  const rope = (x: string): string => {
    if (fusedRope) return g.op('RotaryEmbedding', [x, pos, fusedRope.cos, fusedRope.sin], { interleaved: A.i(0) }, undefined, 'com.microsoft');
    const x1 = slice(g, x, 3, 0, headDim / 2);
    const x2 = slice(g, x, 3, headDim / 2, headDim);
    const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: A.i(-1) });
    const { cos, sin } = positionCosSin();
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
  };

  const mlp = async (x: string, lp: string): Promise<string> => {
    const gate = await w.linear(g, x, `${lp}.mlp.gate_proj.weight`);
    const up = await w.linear(g, x, `${lp}.mlp.up_proj.weight`);
    return await w.linear(g, g.op('Mul', [silu(g, gate), up]), `${lp}.mlp.down_proj.weight`);
  };
  const optBias = (name: string): string | undefined => (w.has(name) ? name : undefined);

  for (let i = 0; i < spec.numLayers; i++) {
    const lp = `${p}.layers.${i}`;
    g.scope = `layers.${i}`;
    if (cross.has(i)) {
      const ck = g.input(g.io(DecoderIO.crossKey(i)), F, [1, numKvHeads, 'vision_length', headDim]);
      const cv = g.input(g.io(DecoderIO.crossValue(i)), F, [1, numKvHeads, 'vision_length', headDim]);
      const a = `${lp}.cross_attn`;
      const x = norm(h, await w.param(g, `${lp}.input_layernorm.weight`));
      let q = splitHeads(g, await w.linear(g, x, `${a}.q_proj.weight`), numHeads, headDim);
      q = norm(q, await w.param(g, `${a}.q_norm.weight`));
      const att = groupedAttention(g, q, ck, cv, crossMask, attnDims);
      const o = await w.linear(g, mergeHeads(g, att, numHeads, headDim), `${a}.o_proj.weight`);
      h = g.op('Add', [h, g.op('Mul', [tanh(g, await w.param(g, `${lp}.cross_attn_attn_gate`)), o])]);
      const m = await mlp(norm(h, await w.param(g, `${lp}.post_attention_layernorm.weight`)), lp);
      const masked = g.op('Mul', [rowMask, m]);
      h = g.op('Add', [h, g.op('Mul', [tanh(g, await w.param(g, `${lp}.cross_attn_mlp_gate`)), masked])]);
    } else {
      const pastK = i === firstSelf ? past : g.input(g.io(DecoderIO.pastKey(i)), F, [1, numKvHeads, 'past_sequence_length', headDim]);
      const pastV = g.input(g.io(DecoderIO.pastValue(i)), F, [1, numKvHeads, 'past_sequence_length', headDim]);
      const a = `${lp}.self_attn`;
      const x = norm(h, await w.param(g, `${lp}.input_layernorm.weight`));
      if (gqa) {
        const q = await w.linear(g, x, `${a}.q_proj.weight`, optBias(`${a}.q_proj.bias`));
        const k = await w.linear(g, x, `${a}.k_proj.weight`, optBias(`${a}.k_proj.bias`));
        const v = await w.linear(g, x, `${a}.v_proj.weight`, optBias(`${a}.v_proj.bias`));
        const [att] = g.opN('GroupQueryAttention', [q, k, v, pastK, pastV, gqa.seqlensK, gqa.total, gqa.cos, gqa.sin], [g.freshName('gqa_out'), g.io(DecoderIO.presentKey(i)), g.io(DecoderIO.presentValue(i))], {
          num_heads: A.i(numHeads),
          kv_num_heads: A.i(numKvHeads),
          do_rotary: A.i(1),
          rotary_interleaved: A.i(0),
        }, 'com.microsoft');
        g.output(g.io(DecoderIO.presentKey(i)), F, [1, numKvHeads, 'total_sequence_length', headDim]);
        g.output(g.io(DecoderIO.presentValue(i)), F, [1, numKvHeads, 'total_sequence_length', headDim]);
        h = g.op('Add', [h, await w.linear(g, att, `${a}.o_proj.weight`)]);
        h = g.op('Add', [h, await mlp(norm(h, await w.param(g, `${lp}.post_attention_layernorm.weight`)), lp)]);
        if (opts.hiddenStates && i < spec.numLayers - 1) g.toF32(h, g.io(DecoderIO.hidden(i + 1)));
        continue;
      }
      // The loop body feeds one token: [1, 1, n·d] and [1, n, 1, d] are the same bytes in the same
      // order there, so heads split and merge by reshapes instead of transposes (copies).
      const heads = (x: string, n: number) => (opts.splitCache ? reshape(g, x, [0, n, 1, headDim]) : splitHeads(g, x, n, headDim));
      const q = rope(heads(await w.linear(g, x, `${a}.q_proj.weight`, optBias(`${a}.q_proj.bias`)), numHeads));
      const k = rope(heads(await w.linear(g, x, `${a}.k_proj.weight`, optBias(`${a}.k_proj.bias`)), numKvHeads));
      const v = heads(await w.linear(g, x, `${a}.v_proj.weight`, optBias(`${a}.v_proj.bias`)), numKvHeads);
      const kAll = g.op('Concat', [pastK, k], { axis: A.i(2) }, g.io(DecoderIO.presentKey(i)));
      const vAll = g.op('Concat', [pastV, v], { axis: A.i(2) }, g.io(DecoderIO.presentValue(i)));
      g.output(kAll, F, [1, numKvHeads, 'total_sequence_length', headDim]);
      g.output(vAll, F, [1, numKvHeads, 'total_sequence_length', headDim]);
      const att = opts.splitCache
        ? splitCacheAttention(g, q, [{ k: opts.splitCache.key(i), v: opts.splitCache.value(i) }, { k: kAll, v: vAll }], attnDims)
        : groupedAttention(g, q, kAll, vAll, selfMask(), attnDims);
      const merged = opts.splitCache ? reshape(g, att, [0, 1, numHeads * headDim]) : mergeHeads(g, att, numHeads, headDim);
      h = g.op('Add', [h, await w.linear(g, merged, `${a}.o_proj.weight`)]);
      h = g.op('Add', [h, await mlp(norm(h, await w.param(g, `${lp}.post_attention_layernorm.weight`)), lp)]);
    }
    if (opts.hiddenStates && i < spec.numLayers - 1) g.toF32(h, g.io(DecoderIO.hidden(i + 1)));
  }
  g.scope = 'head';
  const normed = norm(h, await w.param(g, `${p}.norm.weight`));
  if (opts.hiddenStates) {
    g.toF32(normed, g.io(DecoderIO.hidden(spec.numLayers)));
    for (let i = 0; i <= spec.numLayers; i++) g.output(g.io(DecoderIO.hidden(i)), 'float32', [1, 'sequence_length', H]);
  }
  const kept = g.op('Slice', [normed, logitsFrom, g.constI64([2 ** 62]), g.constI64([1])]);
  // lm_head: int4 builds store it as weights.ts's Int4Settings say (8-bit blocks with f32
  // compute, f16 with f16 compute; see docs). Logits leave the graph in f32 whatever the compute type.
  g.toF32(await w.linear(g, kept, spec.lmHead, undefined, { atMost: 'fp16' }), g.io(DecoderIO.logits));
  g.output(g.io(DecoderIO.logits), 'float32', [1, 'logits_length', spec.vocabSize]);
}
