import { TinyCheckpointError } from './errors.js';
import type { TextConfig } from '../files/text-config.js';
import { DEFAULT_SUPPORTED_ASPECT_RATIOS, type VisionConfig } from '../files/vision-config.js';

export type TinyArch = 'mllama' | 'llama';
export type TinyDtype = 'f32' | 'f16' | 'bf16';

/** The vision encoder's sizes a tiny checkpoint takes, as VisionConfig names them (imageSize a multiple of patchSize). */
export type TinyVisionSizes = Pick<
  VisionConfig,
  'hidden' | 'heads' | 'layers' | 'globalLayers' | 'intermediate' | 'imageSize' | 'patchSize' | 'maxNumTiles' | 'intermediateLayersIndices'
>;

export interface TinyCheckpointOptions {
  arch: TinyArch;
  /** PRNG seed (uint32); the same seed and options always give identical bytes. Default 0. */
  seed?: number;
  /** On-disk weight dtype. Default f32. */
  dtype?: TinyDtype;
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  intermediate?: number;
  /** Mllama only; default: the odd layer indices ([1, 3] for 5 layers). */
  crossAttentionLayers?: number[];
  /** Llama only: share lm_head with embed_tokens (no lm_head.weight tensor). Default false. */
  tieWordEmbeddings?: boolean;
  /** Mllama only. */
  vision?: Partial<TinyVisionSizes>;
  /** Write tokenizer.json / tokenizer_config.json (the real Llama 3 vocabulary). Default true. */
  tokenizer?: boolean;
}

/** Every size resolved, as the config and the parameter list use them (TextConfig's and VisionConfig's names). */
export interface TinySizes
  extends Pick<TextConfig, 'vocabSize' | 'hidden' | 'layers' | 'heads' | 'kvHeads' | 'headDim' | 'intermediate' | 'crossAttentionLayers' | 'tieWordEmbeddings'> {
  arch: TinyArch;
  seed: number;
  dtype: TinyDtype;
  vision?: TinyVisionSizes & Pick<VisionConfig, 'supportedAspectRatios' | 'visionOutputDim'> & { numPatches: number };
}

/** The Llama 3 text vocabulary, kept real so token ids are real. */
export const LLAMA3_VOCAB_SIZE = 128256;

/** Defaults reproduce the reference case tiny-a (text 32/5 layers/4:2 heads, vision 32/2 heads/4+2 layers). */
export function resolveTinySizes(o: TinyCheckpointOptions): TinySizes {
  if (o.arch !== 'mllama' && o.arch !== 'llama') bad('arch', `must be "mllama" or "llama", got ${JSON.stringify(o.arch)}`);
  const dtype = o.dtype ?? 'f32';
  if (!['f32', 'f16', 'bf16'].includes(dtype)) bad('dtype', `must be f32, f16 or bf16, got ${JSON.stringify(dtype)}`);
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) bad('seed', `must be an integer in [0, 4294967295], got ${seed}`);

  const hidden = positive('hidden', o.hidden ?? 32);
  const layers = positive('layers', o.layers ?? (o.arch === 'mllama' ? 5 : 2));
  const heads = positive('heads', o.heads ?? 4);
  const kvHeads = positive('kvHeads', o.kvHeads ?? Math.min(2, heads));
  if (hidden % heads !== 0) bad('heads', `(${heads}) must divide hidden (${hidden})`);
  if (heads % kvHeads !== 0) bad('kvHeads', `(${kvHeads}) must divide heads (${heads})`);
  const intermediate = positive('intermediate', o.intermediate ?? 128);

  let crossAttentionLayers: number[] = [];
  if (o.arch === 'mllama') {
    crossAttentionLayers = o.crossAttentionLayers ? [...o.crossAttentionLayers] : Array.from({ length: layers }, (_, i) => i).filter((i) => i % 2 === 1);
    if (crossAttentionLayers.some((l) => !Number.isInteger(l) || l < 0 || l >= layers) || new Set(crossAttentionLayers).size !== crossAttentionLayers.length) {
      bad('crossAttentionLayers', `must be distinct layer indices in [0, ${layers - 1}], got [${crossAttentionLayers.join(', ')}]`);
    }
    crossAttentionLayers.sort((a, b) => a - b);
  } else if (o.crossAttentionLayers?.length || o.vision) {
    bad(o.vision ? 'vision' : 'crossAttentionLayers', 'applies to arch "mllama" only');
  }
  if (o.tieWordEmbeddings && o.arch === 'mllama') bad('tieWordEmbeddings', 'applies to arch "llama" only (Mllama never ties)');

  return {
    arch: o.arch,
    seed,
    dtype,
    vocabSize: LLAMA3_VOCAB_SIZE,
    hidden,
    layers,
    heads,
    kvHeads,
    headDim: hidden / heads,
    intermediate,
    crossAttentionLayers,
    tieWordEmbeddings: o.tieWordEmbeddings ?? false,
    vision: o.arch === 'mllama' ? resolveVision(o.vision ?? {}) : undefined,
  };
}

function resolveVision(v: Partial<TinyVisionSizes>): NonNullable<TinySizes['vision']> {
  const hidden = positive('vision.hidden', v.hidden ?? 32);
  const heads = positive('vision.heads', v.heads ?? 2);
  if (hidden % heads !== 0) bad('vision.heads', `(${heads}) must divide vision.hidden (${hidden})`);
  const layers = positive('vision.layers', v.layers ?? 4);
  const globalLayers = nonNegative('vision.globalLayers', v.globalLayers ?? 2);
  const patchSize = positive('vision.patchSize', v.patchSize ?? 14);
  const imageSize = positive('vision.imageSize', v.imageSize ?? 2 * patchSize);
  if (imageSize % patchSize !== 0) bad('vision.imageSize', `(${imageSize}) must be a multiple of vision.patchSize (${patchSize})`);
  const maxNumTiles = positive('vision.maxNumTiles', v.maxNumTiles ?? 4);
  const intermediateLayersIndices = v.intermediateLayersIndices
    ? [...v.intermediateLayersIndices]
    : Array.from({ length: layers }, (_, i) => i).filter((i) => i % 2 === 1);
  if (intermediateLayersIndices.some((i) => !Number.isInteger(i) || i < 0 || i >= layers)) {
    bad('vision.intermediateLayersIndices', `must be layer indices in [0, ${layers - 1}], got [${intermediateLayersIndices.join(', ')}]`);
  }
  return {
    hidden,
    heads,
    layers,
    globalLayers,
    intermediate: positive('vision.intermediate', v.intermediate ?? 64),
    imageSize,
    patchSize,
    maxNumTiles,
    intermediateLayersIndices,
    supportedAspectRatios: DEFAULT_SUPPORTED_ASPECT_RATIOS.filter(([h, w]) => h * w <= maxNumTiles),
    visionOutputDim: hidden * (intermediateLayersIndices.length + 1),
    numPatches: (imageSize / patchSize) ** 2 + 1,
  };
}

function positive(option: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0) bad(option, `must be a positive integer, got ${v}`);
  return v;
}

function nonNegative(option: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) bad(option, `must be a non-negative integer, got ${v}`);
  return v;
}

function bad(option: string, detail: string): never {
  throw new TinyCheckpointError('TINY_OPTIONS_INVALID', `tiny checkpoint option "${option}" ${detail}`, option);
}
