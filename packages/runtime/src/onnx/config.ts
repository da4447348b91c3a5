import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxError } from './errors.js';

/** The text decoder's shape, for MllamaTextModel and LlamaForCausalLM alike. */
export interface TextSpec {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling?: RopeScaling;
  /** Rows of lm_head (logits width). */
  vocabSize: number;
  /** Decoder layers that are cross-attention layers (Mllama only). */
  crossAttentionLayers: number[];
  /** Weight-name prefix of the decoder ("language_model.model" or "model"). */
  prefix: string;
  lmHead: string;
}

export interface RopeScaling {
  ropeType: string;
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface VisionSpec {
  hiddenSize: number;
  numHeads: number;
  numLayers: number;
  numGlobalLayers: number;
  intermediateSize: number;
  imageSize: number;
  patchSize: number;
  numChannels: number;
  maxNumTiles: number;
  normEps: number;
  intermediateLayersIndices: number[];
  visionOutputDim: number;
  /** Patches per tile including the class token. */
  numPatches: number;
  /** numPatches rounded up to a multiple of 8 (the encoder's padded length). */
  paddedPatches: number;
}

export interface ModelSpec {
  arch: 'mllama' | 'llama';
  text: TextSpec;
  vision?: VisionSpec;
  imageTokenIndex?: number;
  bosTokenId?: number;
}

type Json = Record<string, unknown>;

function num(obj: Json, key: string, where: string, fallback?: number): number {
  const v = obj[key];
  if (typeof v === 'number') return v;
  if (fallback !== undefined) return fallback;
  throw new OnnxError('ONNX_BAD_CONFIG', `${where}: "${key}" must be a number`);
}

function ropeScaling(obj: Json): RopeScaling | undefined {
  const r = obj.rope_scaling as Json | null | undefined;
  if (!r) return undefined;
  const type = String(r.rope_type ?? r.type ?? '');
  if (type !== 'llama3' && type !== 'default') {
    throw new OnnxError('ONNX_BAD_CONFIG', `rope_scaling.rope_type "${type}" is not supported; "llama3" and "default" are`);
  }
  if (type === 'default') return undefined;
  return {
    ropeType: type,
    factor: num(r, 'factor', 'rope_scaling'),
    lowFreqFactor: num(r, 'low_freq_factor', 'rope_scaling'),
    highFreqFactor: num(r, 'high_freq_factor', 'rope_scaling'),
    originalMaxPositionEmbeddings: num(r, 'original_max_position_embeddings', 'rope_scaling'),
  };
}

function textSpec(t: Json, prefix: string, lmHead: string, where: string): TextSpec {
  const hiddenSize = num(t, 'hidden_size', where);
  const numHeads = num(t, 'num_attention_heads', where);
  return {
    hiddenSize,
    numLayers: num(t, 'num_hidden_layers', where),
    numHeads,
    numKvHeads: num(t, 'num_key_value_heads', where, numHeads),
    headDim: num(t, 'head_dim', where, hiddenSize / numHeads),
    intermediateSize: num(t, 'intermediate_size', where),
    rmsNormEps: num(t, 'rms_norm_eps', where, 1e-5),
    ropeTheta: num(t, 'rope_theta', where, 10000),
    ropeScaling: ropeScaling(t),
    vocabSize: num(t, 'vocab_size', where),
    crossAttentionLayers: Array.isArray(t.cross_attention_layers) ? (t.cross_attention_layers as number[]) : [],
    prefix,
    lmHead,
  };
}

/** Reads config.json of a Hugging Face model directory into the builder's spec. */
export function readModelSpec(dir: string): ModelSpec {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new OnnxError('ONNX_BAD_CONFIG', `no config.json in ${dir}`);
  const cfg = JSON.parse(readFileSync(path, 'utf8')) as Json;
  return specFromConfig(cfg);
}

export function specFromConfig(cfg: Json): ModelSpec {
  const modelType = String(cfg.model_type ?? '');
  if (modelType === 'mllama') {
    const t = cfg.text_config as Json;
    const v = cfg.vision_config as Json;
    if (!t || !v) throw new OnnxError('ONNX_BAD_CONFIG', 'mllama config.json needs text_config and vision_config');
    const imageSize = num(v, 'image_size', 'vision_config');
    const patchSize = num(v, 'patch_size', 'vision_config');
    const numPatches = (Math.floor(imageSize / patchSize)) ** 2 + 1;
    const hidden = num(v, 'hidden_size', 'vision_config');
    const inter = (v.intermediate_layers_indices as number[]) ?? [];
    return {
      arch: 'mllama',
      text: textSpec(t, 'language_model.model', 'language_model.lm_head.weight', 'text_config'),
      vision: {
        hiddenSize: hidden,
        numHeads: num(v, 'attention_heads', 'vision_config'),
        numLayers: num(v, 'num_hidden_layers', 'vision_config'),
        numGlobalLayers: num(v, 'num_global_layers', 'vision_config'),
        intermediateSize: num(v, 'intermediate_size', 'vision_config'),
        imageSize,
        patchSize,
        numChannels: num(v, 'num_channels', 'vision_config', 3),
        maxNumTiles: num(v, 'max_num_tiles', 'vision_config', 4),
        normEps: num(v, 'norm_eps', 'vision_config', 1e-5),
        intermediateLayersIndices: inter,
        visionOutputDim: num(v, 'vision_output_dim', 'vision_config', hidden * (inter.length + 1)),
        numPatches,
        paddedPatches: numPatches + ((8 - (numPatches % 8)) % 8),
      },
      imageTokenIndex: num(cfg, 'image_token_index', 'config', 128256),
      bosTokenId: typeof t.bos_token_id === 'number' ? t.bos_token_id : undefined,
    };
  }
  if (modelType === 'llama') {
    const tied = cfg.tie_word_embeddings === true;
    return {
      arch: 'llama',
      text: textSpec(cfg, 'model', tied ? 'model.embed_tokens.weight' : 'lm_head.weight', 'config'),
      bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : undefined,
    };
  }
  throw new OnnxError('ONNX_UNSUPPORTED_ARCH', `model_type "${modelType}" is not supported; "mllama" and "llama" are`);
}
