import type { FieldReader } from './json-reader.js';

/** RoPE frequency scaling (`rope_scaling`); Llama 3.x uses rope_type "llama3". */
export interface TextRopeScaling {
  ropeType: string;
  factor?: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositionEmbeddings?: number;
}

/** The decoder of Llama / Mllama, normalised from either config layout. */
export interface TextConfig {
  /** `mllama_text_model` or `llama`. */
  modelType: string;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  ropeTheta: number;
  ropeScaling: TextRopeScaling | null;
  rmsNormEps: number;
  hiddenAct: string;
  /** Decoder layers that are cross-attention layers (Mllama); empty for plain Llama. */
  crossAttentionLayers: number[];
  tieWordEmbeddings: boolean;
  attentionBias: boolean;
  mlpBias: boolean;
  bosTokenId?: number;
  eosTokenId?: number | number[];
  padTokenId?: number;
}

/**
 * Shape fields are required; secondary fields fall back to the defaults transformers applies
 * for the same config class (so a config saved without them loads as it would there).
 */
export function parseTextConfig(r: FieldReader, kind: 'mllama' | 'llama'): TextConfig {
  const hidden = r.int('hidden_size', { positive: true });
  const layers = r.int('num_hidden_layers', { positive: true });
  const heads = r.int('num_attention_heads', { positive: true });
  const kvHeads = r.int('num_key_value_heads', { positive: true, default: heads });
  if (heads % kvHeads !== 0) r.fail('num_key_value_heads', `a divisor of num_attention_heads (${heads})`, kvHeads);
  const headDim = kind === 'llama' && r.has('head_dim') ? r.int('head_dim', { positive: true }) : hidden / heads;
  if (!Number.isInteger(headDim)) r.fail('num_attention_heads', `a divisor of hidden_size (${hidden})`, heads);

  const crossAttentionLayers = kind === 'mllama' ? r.intArray('cross_attention_layers', { min: 0 }) : [];
  const outOfRange = crossAttentionLayers.find((l) => l >= layers);
  if (outOfRange !== undefined) r.fail('cross_attention_layers', `layer indices below num_hidden_layers (${layers})`, crossAttentionLayers);
  if (new Set(crossAttentionLayers).size !== crossAttentionLayers.length) r.fail('cross_attention_layers', 'distinct layer indices', crossAttentionLayers);

  return {
    modelType: r.str('model_type', kind === 'mllama' ? 'mllama_text_model' : 'llama'),
    hidden,
    layers,
    heads,
    kvHeads,
    headDim,
    intermediate: r.int('intermediate_size', { positive: true }),
    vocabSize: r.int('vocab_size', { positive: true }),
    maxPositionEmbeddings: r.int('max_position_embeddings', { positive: true, default: kind === 'mllama' ? 131072 : 2048 }),
    ropeTheta: r.num('rope_theta', { positive: true, default: kind === 'mllama' ? 500000 : 10000 }),
    ropeScaling: parseRopeScaling(r),
    rmsNormEps: r.num('rms_norm_eps', { positive: true, default: kind === 'mllama' ? 1e-5 : 1e-6 }),
    hiddenAct: r.str('hidden_act', 'silu'),
    crossAttentionLayers: [...crossAttentionLayers].sort((a, b) => a - b),
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
    attentionBias: r.bool('attention_bias', false),
    mlpBias: r.bool('mlp_bias', false),
    bosTokenId: r.optionalInt('bos_token_id', { min: 0 }),
    eosTokenId: r.optionalIdOrIds('eos_token_id'),
    padTokenId: r.optionalInt('pad_token_id', { min: 0 }),
  };
}

function parseRopeScaling(parent: FieldReader): TextRopeScaling | null {
  const r = parent.optionalChild('rope_scaling');
  if (!r) return null;
  // Older configs name the kind "type", newer ones "rope_type".
  const ropeType = r.has('rope_type') ? r.str('rope_type') : r.str('type');
  const scaling: TextRopeScaling = {
    ropeType,
    factor: r.optionalNum('factor', { positive: true }),
    lowFreqFactor: r.optionalNum('low_freq_factor', { positive: true }),
    highFreqFactor: r.optionalNum('high_freq_factor', { positive: true }),
    originalMaxPositionEmbeddings: r.optionalInt('original_max_position_embeddings', { positive: true }),
  };
  if (ropeType === 'llama3') {
    // All four are needed to compute llama3 frequencies; report the first one missing.
    r.num('factor', { positive: true });
    r.num('low_freq_factor', { positive: true });
    r.num('high_freq_factor', { positive: true });
    r.int('original_max_position_embeddings', { positive: true });
  }
  return scaling;
}
