import { A, ElemType, type GraphBuilder } from './graph-builder.js';
import type { ModelSpec } from './config.js';
import type { WeightWriter } from './weights.js';
import { VisionIO } from './vision-io.js';
import { gelu, groupedAttention, layerNorm, mergeHeads, reshape, rmsNorm, slice, splitHeads, tanh, transpose, unsqueeze } from './nn.js';

/**
 * The Mllama vision side, once per prompt with images: MllamaVisionModel (HF 4.45 order of
 * operations), the multi-modal projector, and each cross-attention layer's K/V (k_proj/v_proj,
 * k_norm), so the decoder only takes ready K/V. B below is the number of images.
 */
export async function buildVisionGraph(g: GraphBuilder, spec: ModelSpec, w: WeightWriter, opts: { fused?: boolean } = {}): Promise<void> {
  const v = spec.vision!;
  const t = spec.text;
  const vp = 'vision_model';
  const { hiddenSize: D, maxNumTiles: NT, numPatches: P, paddedPatches: PP, imageSize: S, patchSize: PS } = v;
  const npad = PP - P;
  const grid = Math.floor(S / PS);

  const pixels = g.input(VisionIO.pixelValues, 'float32', [1, 'num_images', NT, v.numChannels, S, S]);
  const arIds = g.input(VisionIO.aspectRatioIds, 'int64', [1, 'num_images']);
  const arMask = g.input(VisionIO.aspectRatioMask, 'int64', [1, 'num_images', NT]);
  const arIdsFlat = reshape(g, arIds, [-1]); // [B]

  // Patch embedding: Conv with stride = kernel = patch size, no bias.
  g.scope = 'patch';
  const tiles = reshape(g, g.fromF32(pixels), [-1, v.numChannels, S, S]);
  const conv = g.op('Conv', [tiles, await w.param(g, `${vp}.patch_embedding.weight`)], {
    kernel_shape: A.ints([PS, PS]),
    strides: A.ints([PS, PS]),
  });
  let h = transpose(g, reshape(g, conv, [0, D, grid * grid]), [0, 2, 1]); // [B*NT, np, D]

  // Pre-tile positional embedding (gated): one [NT, D] row set per aspect-ratio id.
  const tileEmbedding = async (x: string, prefix: string): Promise<string> => {
    const e = g.op('Gather', [await w.param(g, `${prefix}.embedding.weight`), arIdsFlat], { axis: A.i(0) }); // [B, NT*D]
    const gated = g.op('Mul', [reshape(g, e, [-1, NT, 1, D]), tanh(g, await w.param(g, `${prefix}.gate`))]);
    return g.op('Add', [x, gated]);
  };
  h = reshape(g, h, [-1, NT, grid * grid, D]);
  h = await tileEmbedding(h, `${vp}.pre_tile_positional_embedding`);

  // Class token first.
  h = reshape(g, h, [-1, grid * grid, D]);
  const cls = reshape(g, await w.param(g, `${vp}.class_embedding`), [1, 1, D]);
  const clsB = g.op('Expand', [cls, g.op('Concat', [g.op('Slice', [g.op('Shape', [h]), g.constI64([0]), g.constI64([1])]), g.constI64([1, D])], { axis: A.i(0) })]);
  h = g.op('Concat', [clsB, h], { axis: A.i(1) }); // [B*NT, P, D]

  // Gated positional + tile-position embeddings.
  h = reshape(g, h, [-1, NT, P, D]);
  const gp = `${vp}.gated_positional_embedding`;
  const gate = tanh(g, await w.param(g, `${gp}.gate`));
  const posGated = g.op('Mul', [g.op('Sub', [g.constF([1], []), gate]), await w.param(g, `${gp}.embedding`)]);
  h = g.op('Add', [h, reshape(g, posGated, [1, 1, P, D])]);
  const tileEmb = g.op('Gather', [await w.param(g, `${gp}.tile_embedding.weight`), arIdsFlat], { axis: A.i(0) });
  h = g.op('Add', [h, g.op('Mul', [gate, reshape(g, tileEmb, [-1, NT, P, D])])]);

  h = layerNorm(g, h, await w.param(g, `${vp}.layernorm_pre.weight`), await w.param(g, `${vp}.layernorm_pre.bias`), v.normEps);
  if (npad > 0) h = g.op('Pad', [h, g.constI64([0, 0, 0, 0, 0, 0, npad, 0])]);

  // Aspect-ratio attention mask (HF _prepare_aspect_ratio_attention_mask): token i is "masked"
  // when it is a padding patch or in a padding tile, and a pair (i, j) gets min only when both
  // are. With no padding patches HF's `[-0:]` slice marks every patch, which this repeats.
  g.scope = 'mask';
  const tileValid = g.op('Cast', [reshape(g, arMask, [-1, NT, 1, 1])], { to: A.i(ElemType[g.floatElem]) });
  const patchValid = new Float32Array(PP);
  if (npad > 0) patchValid.fill(1, 0, P);
  const valid = g.op('Mul', [tileValid, g.constF(patchValid, [1, 1, PP, 1])]); // [B, NT, PP, 1]
  const m = reshape(g, g.op('Sub', [g.constF([1], []), valid]), [-1, NT * PP, 1]);
  const pair = g.op('MatMul', [m, transpose(g, m, [0, 2, 1])]);
  const attnMask = unsqueeze(g, g.op('Mul', [pair, g.constF([g.floatMin], [])]), [1]); // [B, 1, N, N]

  h = reshape(g, h, [-1, NT * PP, D]);

  const encoderLayer = async (x: string, lp: string, gated: boolean): Promise<string> => {
    const dims = { numHeads: v.numHeads, numKvHeads: v.numHeads, headDim: D / v.numHeads };
    const a = `${lp}.self_attn`;
    const xn = layerNorm(g, x, await w.param(g, `${lp}.input_layernorm.weight`), await w.param(g, `${lp}.input_layernorm.bias`), v.normEps);
    const qf = await w.linear(g, xn, `${a}.q_proj.weight`);
    const kf = await w.linear(g, xn, `${a}.k_proj.weight`);
    const vf = await w.linear(g, xn, `${a}.v_proj.weight`);
    const attended = opts.fused
      ? // com.microsoft MultiHeadAttention with the aspect-ratio mask as attention_bias.
        g.op('MultiHeadAttention', [qf, kf, vf, '', '', attnMask], { num_heads: A.i(dims.numHeads) }, undefined, 'com.microsoft')
      : mergeHeads(g, groupedAttention(g, splitHeads(g, qf, dims.numHeads, dims.headDim), splitHeads(g, kf, dims.numHeads, dims.headDim), splitHeads(g, vf, dims.numHeads, dims.headDim), attnMask, dims), dims.numHeads, dims.headDim);
    let att = await w.linear(g, attended, `${a}.o_proj.weight`);
    if (gated) att = g.op('Mul', [tanh(g, await w.param(g, `${lp}.gate_attn`)), att]);
    let y = g.op('Add', [x, att]);
    const yn = layerNorm(g, y, await w.param(g, `${lp}.post_attention_layernorm.weight`), await w.param(g, `${lp}.post_attention_layernorm.bias`), v.normEps);
    let f = await w.linear(g, gelu(g, await w.linear(g, yn, `${lp}.mlp.fc1.weight`, `${lp}.mlp.fc1.bias`)), `${lp}.mlp.fc2.weight`, `${lp}.mlp.fc2.bias`);
    if (gated) f = g.op('Mul', [tanh(g, await w.param(g, `${lp}.gate_ffn`)), f]);
    y = g.op('Add', [y, f]);
    return y;
  };

  // Local encoder, keeping hidden states (index 0 = its input).
  const hidden: string[] = [h];
  for (let i = 0; i < v.numLayers; i++) {
    g.scope = `vision.layers.${i}`;
    h = await encoderLayer(h, `${vp}.transformer.layers.${i}`, false);
    hidden.push(h);
  }
  g.scope = 'vision.post';
  h = layerNorm(g, h, await w.param(g, `${vp}.layernorm_post.weight`), await w.param(g, `${vp}.layernorm_post.bias`), v.normEps);
  h = reshape(g, h, [-1, NT, PP, D]);
  h = await tileEmbedding(h, `${vp}.post_tile_positional_embedding`);
  h = reshape(g, h, [-1, NT * PP, D]);
  for (let i = 0; i < v.numGlobalLayers; i++) {
    g.scope = `vision.global.${i}`;
    h = await encoderLayer(h, `${vp}.global_transformer.layers.${i}`, true);
  }
  g.scope = 'vision.out';
  // Drop the padding patches; intermediate states are stacked on a new last axis and then
  // flattened, so their features interleave (d0 of each layer, then d1, ...), as HF does.
  h = slice(g, reshape(g, h, [-1, NT, PP, D]), 2, 0, P);
  const picked = v.intermediateLayersIndices.map((i) => unsqueeze(g, hidden[i], [3]));
  let inter = picked.length === 1 ? picked[0] : g.op('Concat', picked, { axis: A.i(3) });
  inter = slice(g, reshape(g, inter, [-1, NT, PP, D * picked.length]), 2, 0, P);
  const visionOut = g.op('Concat', [h, inter], { axis: A.i(-1) }); // [B, NT, P, vision_output_dim]

  // Multi-modal projector, then [B*NT, P, text hidden].
  g.scope = 'projector';
  const projected = await w.linear(g, visionOut, 'multi_modal_projector.weight', 'multi_modal_projector.bias');
  const states = reshape(g, projected, [-1, P, t.hiddenSize]);
  g.toF32(states, VisionIO.crossAttentionStates);
  g.output(VisionIO.crossAttentionStates, 'float32', ['num_tiles_total', P, t.hiddenSize]);

  // Cross-attention K/V of every cross layer, over all images' tokens as one sequence.
  const flat = reshape(g, states, [1, -1, t.hiddenSize]);
  for (const layer of t.crossAttentionLayers) {
    g.scope = `cross_kv.${layer}`;
    const a = `${t.prefix}.layers.${layer}.cross_attn`;
    const k = rmsNorm(g, splitHeads(g, await w.linear(g, flat, `${a}.k_proj.weight`), t.numKvHeads, t.headDim), await w.param(g, `${a}.k_norm.weight`), t.rmsNormEps);
    const vv = splitHeads(g, await w.linear(g, flat, `${a}.v_proj.weight`), t.numKvHeads, t.headDim);
    g.op('Identity', [k], {}, VisionIO.crossKey(layer));
    g.op('Identity', [vv], {}, VisionIO.crossValue(layer));
    // In the compute type: they go straight into the decoder.
    g.output(VisionIO.crossKey(layer), g.floatElem, [1, t.numKvHeads, 'vision_length', t.headDim]);
    g.output(VisionIO.crossValue(layer), g.floatElem, [1, t.numKvHeads, 'vision_length', t.headDim]);
  }
}
