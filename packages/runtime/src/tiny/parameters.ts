import type { TinySizes } from './sizes.js';
import { MLLAMA_EXTRA_EMBED_ROWS } from './sizes.js';

/** How a parameter is initialised (the reference generator's rules, so gated paths are live). */
export type InitRule =
  /** N(0,1) / sqrt(fan_in); fan_in = product of all dims but the first. */
  | 'matrix'
  /** 4 N(0,1) / sqrt(hidden): logits with std around 4. */
  | 'lm_head'
  /** N(0,1). */
  | 'embed'
  /** 0.5 N(0,1): class, position and tile embeddings. */
  | 'position'
  /** 1 + 0.2 N(0,1): RMSNorm / LayerNorm weights. */
  | 'norm'
  /** 0.1 N(0,1). */
  | 'bias'
  /** ±U(0.5, 1.5): scalar tanh gates, never zero. */
  | 'gate';

export interface TinyParameter {
  name: string;
  shape: number[];
  init: InitRule;
}

/** Every parameter of the checkpoint, with the real checkpoint's names and shapes. */
export function tinyParameters(s: TinySizes): TinyParameter[] {
  return s.arch === 'mllama' ? mllamaParameters(s) : llamaParameters(s);
}

function decoderLayer(prefix: string, s: TinySizes, cross: boolean): TinyParameter[] {
  const { hidden: h, heads, kvHeads, headDim: d, intermediate: I } = s;
  const attn = cross ? 'cross_attn' : 'self_attn';
  const out: TinyParameter[] = [
    { name: `${prefix}.input_layernorm.weight`, shape: [h], init: 'norm' },
    { name: `${prefix}.post_attention_layernorm.weight`, shape: [h], init: 'norm' },
    { name: `${prefix}.${attn}.q_proj.weight`, shape: [heads * d, h], init: 'matrix' },
    { name: `${prefix}.${attn}.k_proj.weight`, shape: [kvHeads * d, h], init: 'matrix' },
    { name: `${prefix}.${attn}.v_proj.weight`, shape: [kvHeads * d, h], init: 'matrix' },
    { name: `${prefix}.${attn}.o_proj.weight`, shape: [h, heads * d], init: 'matrix' },
    { name: `${prefix}.mlp.gate_proj.weight`, shape: [I, h], init: 'matrix' },
    { name: `${prefix}.mlp.up_proj.weight`, shape: [I, h], init: 'matrix' },
    { name: `${prefix}.mlp.down_proj.weight`, shape: [h, I], init: 'matrix' },
  ];
  if (cross) {
    out.push(
      { name: `${prefix}.cross_attn.q_norm.weight`, shape: [d], init: 'norm' },
      { name: `${prefix}.cross_attn.k_norm.weight`, shape: [d], init: 'norm' },
      { name: `${prefix}.cross_attn_attn_gate`, shape: [1], init: 'gate' },
      { name: `${prefix}.cross_attn_mlp_gate`, shape: [1], init: 'gate' },
    );
  }
  return out;
}

function llamaParameters(s: TinySizes): TinyParameter[] {
  const out: TinyParameter[] = [
    { name: 'model.embed_tokens.weight', shape: [s.vocabSize, s.hidden], init: 'embed' },
    { name: 'model.norm.weight', shape: [s.hidden], init: 'norm' },
  ];
  if (!s.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [s.vocabSize, s.hidden], init: 'lm_head' });
  for (let i = 0; i < s.layers; i++) out.push(...decoderLayer(`model.layers.${i}`, s, false));
  return out;
}

function mllamaParameters(s: TinySizes): TinyParameter[] {
  const v = s.vision!;
  const cross = new Set(s.crossAttentionLayers);
  const out: TinyParameter[] = [
    { name: 'language_model.model.embed_tokens.weight', shape: [s.vocabSize + MLLAMA_EXTRA_EMBED_ROWS, s.hidden], init: 'embed' },
    { name: 'language_model.model.norm.weight', shape: [s.hidden], init: 'norm' },
    { name: 'language_model.lm_head.weight', shape: [s.vocabSize, s.hidden], init: 'lm_head' },
    { name: 'multi_modal_projector.weight', shape: [s.hidden, v.visionOutputDim], init: 'matrix' },
    { name: 'multi_modal_projector.bias', shape: [s.hidden], init: 'bias' },
  ];
  for (let i = 0; i < s.layers; i++) out.push(...decoderLayer(`language_model.model.layers.${i}`, s, cross.has(i)));

  const vh = v.hidden;
  const aspectIds = v.supportedAspectRatios.length + 1; // id 0 is padding
  const P = v.numPatches;
  const T = v.maxNumTiles;
  out.push(
    { name: 'vision_model.patch_embedding.weight', shape: [vh, 3, v.patchSize, v.patchSize], init: 'matrix' },
    { name: 'vision_model.class_embedding', shape: [vh], init: 'position' },
    { name: 'vision_model.gated_positional_embedding.embedding', shape: [P, vh], init: 'position' },
    { name: 'vision_model.gated_positional_embedding.gate', shape: [1], init: 'gate' },
    { name: 'vision_model.gated_positional_embedding.tile_embedding.weight', shape: [aspectIds, T * P * vh], init: 'position' },
    { name: 'vision_model.pre_tile_positional_embedding.embedding.weight', shape: [aspectIds, T * vh], init: 'position' },
    { name: 'vision_model.pre_tile_positional_embedding.gate', shape: [1], init: 'gate' },
    { name: 'vision_model.post_tile_positional_embedding.embedding.weight', shape: [aspectIds, T * vh], init: 'position' },
    { name: 'vision_model.post_tile_positional_embedding.gate', shape: [1], init: 'gate' },
  );
  for (const ln of ['layernorm_pre', 'layernorm_post']) {
    out.push({ name: `vision_model.${ln}.weight`, shape: [vh], init: 'norm' }, { name: `vision_model.${ln}.bias`, shape: [vh], init: 'bias' });
  }
  const encoderLayer = (prefix: string, gated: boolean): TinyParameter[] => {
    const layer: TinyParameter[] = [];
    for (const p of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) layer.push({ name: `${prefix}.self_attn.${p}.weight`, shape: [vh, vh], init: 'matrix' });
    layer.push(
      { name: `${prefix}.mlp.fc1.weight`, shape: [v.intermediate, vh], init: 'matrix' },
      { name: `${prefix}.mlp.fc1.bias`, shape: [v.intermediate], init: 'bias' },
      { name: `${prefix}.mlp.fc2.weight`, shape: [vh, v.intermediate], init: 'matrix' },
      { name: `${prefix}.mlp.fc2.bias`, shape: [vh], init: 'bias' },
    );
    for (const ln of ['input_layernorm', 'post_attention_layernorm']) {
      layer.push({ name: `${prefix}.${ln}.weight`, shape: [vh], init: 'norm' }, { name: `${prefix}.${ln}.bias`, shape: [vh], init: 'bias' });
    }
    if (gated) layer.push({ name: `${prefix}.gate_attn`, shape: [1], init: 'gate' }, { name: `${prefix}.gate_ffn`, shape: [1], init: 'gate' });
    return layer;
  };
  for (let i = 0; i < v.layers; i++) out.push(...encoderLayer(`vision_model.transformer.layers.${i}`, false));
  for (let i = 0; i < v.globalLayers; i++) out.push(...encoderLayer(`vision_model.global_transformer.layers.${i}`, true));
  return out;
}
