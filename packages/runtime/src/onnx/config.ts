import { existsSync } from 'node:fs';
import { parseModelConfig, readJsonFile, type ModelConfig } from '../files/index.js';
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
  maxPositionEmbeddings: number;
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

/** Reads config.json of a Hugging Face model directory (through files/) into the builder's spec. */
export async function readModelSpec(dir: string): Promise<ModelSpec> {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new OnnxError('ONNX_BAD_CONFIG', `no config.json in ${dir}; a Hugging Face model directory is expected`);
  return specFromConfig(parseModelConfig(await readJsonFile(path), path));
}

/** Maps the normalised config to what the graphs need, refusing what they cannot express. */
export function specFromConfig(cfg: ModelConfig): ModelSpec {
  const t = cfg.text;
  if (t.hiddenAct !== 'silu') throw new OnnxError('ONNX_BAD_CONFIG', `text hidden_act "${t.hiddenAct}" is not supported; "silu" is`);
  let ropeScaling: RopeScaling | undefined;
  const r = t.ropeScaling;
  if (r && r.ropeType !== 'default') {
    if (r.ropeType !== 'llama3') throw new OnnxError('ONNX_BAD_CONFIG', `rope_scaling.rope_type "${r.ropeType}" is not supported; "llama3" and "default" are`);
    ropeScaling = {
      ropeType: 'llama3',
      factor: r.factor ?? 8,
      lowFreqFactor: r.lowFreqFactor ?? 1,
      highFreqFactor: r.highFreqFactor ?? 4,
      originalMaxPositionEmbeddings: r.originalMaxPositionEmbeddings ?? 8192,
    };
  }
  const mllama = cfg.arch === 'mllama';
  const prefix = mllama ? 'language_model.model' : 'model';
  const lmHead = mllama ? 'language_model.lm_head.weight' : t.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const text: TextSpec = {
    hiddenSize: t.hidden,
    numLayers: t.layers,
    numHeads: t.heads,
    numKvHeads: t.kvHeads,
    headDim: t.headDim,
    intermediateSize: t.intermediate,
    rmsNormEps: t.rmsNormEps,
    ropeTheta: t.ropeTheta,
    ropeScaling,
    maxPositionEmbeddings: t.maxPositionEmbeddings,
    vocabSize: t.vocabSize,
    crossAttentionLayers: mllama ? t.crossAttentionLayers : [],
    prefix,
    lmHead,
  };
  if (!mllama) return { arch: 'llama', text, bosTokenId: t.bosTokenId };
  const v = cfg.vision!;
  if (v.hiddenAct !== 'gelu') throw new OnnxError('ONNX_BAD_CONFIG', `vision hidden_act "${v.hiddenAct}" is not supported; "gelu" is`);
  const numPatches = Math.floor(v.imageSize / v.patchSize) ** 2 + 1;
  return {
    arch: 'mllama',
    text,
    vision: {
      hiddenSize: v.hidden,
      numHeads: v.heads,
      numLayers: v.layers,
      numGlobalLayers: v.globalLayers,
      intermediateSize: v.intermediate,
      imageSize: v.imageSize,
      patchSize: v.patchSize,
      numChannels: v.numChannels,
      maxNumTiles: v.maxNumTiles,
      normEps: v.normEps,
      intermediateLayersIndices: v.intermediateLayersIndices,
      visionOutputDim: v.visionOutputDim,
      numPatches,
      paddedPatches: numPatches + ((8 - (numPatches % 8)) % 8),
    },
    imageTokenIndex: cfg.imageTokenIndex,
    bosTokenId: t.bosTokenId,
  };
}
