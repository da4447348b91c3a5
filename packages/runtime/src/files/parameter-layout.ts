import type { ModelConfig } from './model-config.js';

/**
 * What a parameter is, which also decides how tiny checkpoints initialise it:
 * matrix = Linear/Conv weight, lm_head, embed = token embeddings, position = class / position /
 * tile embeddings, norm = RMSNorm / LayerNorm weight, bias, gate = scalar tanh gate.
 */
export type ParameterKind = 'matrix' | 'lm_head' | 'embed' | 'position' | 'norm' | 'bias' | 'gate';

export interface ParameterSpec {
  name: string;
  shape: number[];
  kind: ParameterKind;
}

/** Mllama's embed_tokens has 8 rows past the text vocabulary, so <|image|> (128256) has one. */
export const MLLAMA_EXTRA_EMBED_ROWS = 8;

/**
 * Every parameter a checkpoint for this config holds, with the names and shapes of the
 * released checkpoints (transformers 4.45 layout, no renaming), in a stable order.
 */
export function expectedParameters(config: ModelConfig): ParameterSpec[] {
  return config.arch === 'mllama' ? mllamaParameters(config) : llamaParameters(config);
}

function decoderLayer(prefix: string, config: ModelConfig, cross: boolean): ParameterSpec[] {
  const t = config.text;
  const { hidden: h, heads, kvHeads, headDim: d, intermediate: I } = t;
  const attn = cross ? 'cross_attn' : 'self_attn';
  const out: ParameterSpec[] = [
    { name: `${prefix}.input_layernorm.weight`, shape: [h], kind: 'norm' },
    { name: `${prefix}.post_attention_layernorm.weight`, shape: [h], kind: 'norm' },
    { name: `${prefix}.${attn}.q_proj.weight`, shape: [heads * d, h], kind: 'matrix' },
    { name: `${prefix}.${attn}.k_proj.weight`, shape: [kvHeads * d, h], kind: 'matrix' },
    { name: `${prefix}.${attn}.v_proj.weight`, shape: [kvHeads * d, h], kind: 'matrix' },
    { name: `${prefix}.${attn}.o_proj.weight`, shape: [h, heads * d], kind: 'matrix' },
    { name: `${prefix}.mlp.gate_proj.weight`, shape: [I, h], kind: 'matrix' },
    { name: `${prefix}.mlp.up_proj.weight`, shape: [I, h], kind: 'matrix' },
    { name: `${prefix}.mlp.down_proj.weight`, shape: [h, I], kind: 'matrix' },
  ];
  if (t.attentionBias && !cross) {
    out.push(
      { name: `${prefix}.self_attn.q_proj.bias`, shape: [heads * d], kind: 'bias' },
      { name: `${prefix}.self_attn.k_proj.bias`, shape: [kvHeads * d], kind: 'bias' },
      { name: `${prefix}.self_attn.v_proj.bias`, shape: [kvHeads * d], kind: 'bias' },
      { name: `${prefix}.self_attn.o_proj.bias`, shape: [h], kind: 'bias' },
    );
  }
  if (t.mlpBias) {
    out.push(
      { name: `${prefix}.mlp.gate_proj.bias`, shape: [I], kind: 'bias' },
      { name: `${prefix}.mlp.up_proj.bias`, shape: [I], kind: 'bias' },
      { name: `${prefix}.mlp.down_proj.bias`, shape: [h], kind: 'bias' },
    );
  }
  if (cross) {
    out.push(
      { name: `${prefix}.cross_attn.q_norm.weight`, shape: [d], kind: 'norm' },
      { name: `${prefix}.cross_attn.k_norm.weight`, shape: [d], kind: 'norm' },
      { name: `${prefix}.cross_attn_attn_gate`, shape: [1], kind: 'gate' },
      { name: `${prefix}.cross_attn_mlp_gate`, shape: [1], kind: 'gate' },
    );
  }
  return out;
}

function llamaParameters(config: ModelConfig): ParameterSpec[] {
  const t = config.text;
  const out: ParameterSpec[] = [
    { name: 'model.embed_tokens.weight', shape: [t.vocabSize, t.hidden], kind: 'embed' },
    { name: 'model.norm.weight', shape: [t.hidden], kind: 'norm' },
  ];
  // Tied checkpoints store no lm_head; the embedding matrix is used for both.
  if (!t.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [t.vocabSize, t.hidden], kind: 'lm_head' });
  for (let i = 0; i < t.layers; i++) out.push(...decoderLayer(`model.layers.${i}`, config, false));
  return out;
}

function mllamaParameters(config: ModelConfig): ParameterSpec[] {
  const t = config.text;
  const v = config.vision!;
  const cross = new Set(t.crossAttentionLayers);
  const out: ParameterSpec[] = [
    { name: 'language_model.model.embed_tokens.weight', shape: [t.vocabSize + MLLAMA_EXTRA_EMBED_ROWS, t.hidden], kind: 'embed' },
    { name: 'language_model.model.norm.weight', shape: [t.hidden], kind: 'norm' },
    { name: 'language_model.lm_head.weight', shape: [t.vocabSize, t.hidden], kind: 'lm_head' },
    { name: 'multi_modal_projector.weight', shape: [t.hidden, v.visionOutputDim], kind: 'matrix' },
    { name: 'multi_modal_projector.bias', shape: [t.hidden], kind: 'bias' },
  ];
  for (let i = 0; i < t.layers; i++) out.push(...decoderLayer(`language_model.model.layers.${i}`, config, cross.has(i)));

  const vh = v.hidden;
  const aspectIds = v.supportedAspectRatios.length + 1; // id 0 is padding
  const patches = (v.imageSize / v.patchSize) ** 2 + 1; // + CLS
  const tiles = v.maxNumTiles;
  out.push(
    { name: 'vision_model.patch_embedding.weight', shape: [vh, v.numChannels, v.patchSize, v.patchSize], kind: 'matrix' },
    { name: 'vision_model.class_embedding', shape: [vh], kind: 'position' },
    { name: 'vision_model.gated_positional_embedding.embedding', shape: [patches, vh], kind: 'position' },
    { name: 'vision_model.gated_positional_embedding.gate', shape: [1], kind: 'gate' },
    { name: 'vision_model.gated_positional_embedding.tile_embedding.weight', shape: [aspectIds, tiles * patches * vh], kind: 'position' },
    { name: 'vision_model.pre_tile_positional_embedding.embedding.weight', shape: [aspectIds, tiles * vh], kind: 'position' },
    { name: 'vision_model.pre_tile_positional_embedding.gate', shape: [1], kind: 'gate' },
    { name: 'vision_model.post_tile_positional_embedding.embedding.weight', shape: [aspectIds, tiles * vh], kind: 'position' },
    { name: 'vision_model.post_tile_positional_embedding.gate', shape: [1], kind: 'gate' },
  );
  for (const ln of ['layernorm_pre', 'layernorm_post']) {
    out.push({ name: `vision_model.${ln}.weight`, shape: [vh], kind: 'norm' }, { name: `vision_model.${ln}.bias`, shape: [vh], kind: 'bias' });
  }
  const encoderLayer = (prefix: string, gated: boolean): ParameterSpec[] => {
    const layer: ParameterSpec[] = [];
    for (const p of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) layer.push({ name: `${prefix}.self_attn.${p}.weight`, shape: [vh, vh], kind: 'matrix' });
    layer.push(
      { name: `${prefix}.mlp.fc1.weight`, shape: [v.intermediate, vh], kind: 'matrix' },
      { name: `${prefix}.mlp.fc1.bias`, shape: [v.intermediate], kind: 'bias' },
      { name: `${prefix}.mlp.fc2.weight`, shape: [vh, v.intermediate], kind: 'matrix' },
      { name: `${prefix}.mlp.fc2.bias`, shape: [vh], kind: 'bias' },
    );
    for (const ln of ['input_layernorm', 'post_attention_layernorm']) {
      layer.push({ name: `${prefix}.${ln}.weight`, shape: [vh], kind: 'norm' }, { name: `${prefix}.${ln}.bias`, shape: [vh], kind: 'bias' });
    }
    if (gated) layer.push({ name: `${prefix}.gate_attn`, shape: [1], kind: 'gate' }, { name: `${prefix}.gate_ffn`, shape: [1], kind: 'gate' });
    return layer;
  };
  for (let i = 0; i < v.layers; i++) out.push(...encoderLayer(`vision_model.transformer.layers.${i}`, false));
  for (let i = 0; i < v.globalLayers; i++) out.push(...encoderLayer(`vision_model.global_transformer.layers.${i}`, true));
  return out;
}
