import type { FieldReader } from './json-reader.js';

/** The Mllama vision encoder (`vision_config`), normalised. */
export interface VisionConfig {
  hidden: number;
  /** Stored in the file as `attention_heads`. */
  heads: number;
  /** Local encoder layers (`num_hidden_layers`). */
  layers: number;
  /** Gated global encoder layers (`num_global_layers`). */
  globalLayers: number;
  intermediate: number;
  /** Tile side in pixels. */
  imageSize: number;
  patchSize: number;
  numChannels: number;
  maxNumTiles: number;
  /** [tilesHigh, tilesWide] grids; an aspect-ratio id is 1 + index into this list. */
  supportedAspectRatios: Array<[number, number]>;
  /** Local-encoder layers whose outputs are concatenated to the final output. */
  intermediateLayersIndices: number[];
  /** hidden * (intermediateLayersIndices.length + 1). */
  visionOutputDim: number;
  normEps: number;
  hiddenAct: string;
}

/** The eight grids of the released checkpoints, for configs that leave the field out. */
export const DEFAULT_SUPPORTED_ASPECT_RATIOS: Array<[number, number]> = [
  [1, 1],
  [1, 2],
  [1, 3],
  [1, 4],
  [2, 1],
  [2, 2],
  [3, 1],
  [4, 1],
];

export function parseVisionConfig(r: FieldReader): VisionConfig {
  const hidden = r.int('hidden_size', { positive: true });
  const heads = r.int('attention_heads', { positive: true });
  if (hidden % heads !== 0) r.fail('attention_heads', `a divisor of hidden_size (${hidden})`, heads);
  const layers = r.int('num_hidden_layers', { positive: true });
  const imageSize = r.int('image_size', { positive: true });
  const patchSize = r.int('patch_size', { positive: true });
  if (imageSize % patchSize !== 0) r.fail('image_size', `a multiple of patch_size (${patchSize})`, imageSize);
  const maxNumTiles = r.int('max_num_tiles', { positive: true, default: 4 });

  const supportedAspectRatios = parseAspectRatios(r, maxNumTiles);
  const intermediateLayersIndices = r.intArray('intermediate_layers_indices', { min: 0 });
  if (intermediateLayersIndices.some((i) => i >= layers)) {
    r.fail('intermediate_layers_indices', `layer indices below num_hidden_layers (${layers})`, intermediateLayersIndices);
  }
  const expectedOutputDim = hidden * (intermediateLayersIndices.length + 1);
  const visionOutputDim = r.int('vision_output_dim', { positive: true, default: expectedOutputDim });
  if (visionOutputDim !== expectedOutputDim) {
    r.fail('vision_output_dim', `hidden_size x (len(intermediate_layers_indices) + 1) = ${expectedOutputDim}`, visionOutputDim);
  }

  return {
    hidden,
    heads,
    layers,
    globalLayers: r.int('num_global_layers', { min: 0 }),
    intermediate: r.int('intermediate_size', { positive: true }),
    imageSize,
    patchSize,
    numChannels: r.int('num_channels', { positive: true, default: 3 }),
    maxNumTiles,
    supportedAspectRatios,
    intermediateLayersIndices,
    visionOutputDim,
    normEps: r.num('norm_eps', { positive: true, default: 1e-5 }),
    hiddenAct: r.str('hidden_act', 'gelu'),
  };
}

function parseAspectRatios(r: FieldReader, maxNumTiles: number): Array<[number, number]> {
  if (!r.has('supported_aspect_ratios')) return DEFAULT_SUPPORTED_ASPECT_RATIOS.map(([h, w]) => [h, w]);
  const v = r.raw('supported_aspect_ratios');
  const ok =
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((p) => Array.isArray(p) && p.length === 2 && p.every((x) => Number.isSafeInteger(x) && x > 0) && p[0] * p[1] <= maxNumTiles);
  if (!ok) r.fail('supported_aspect_ratios', `a non-empty list of [h, w] grids with h*w <= max_num_tiles (${maxNumTiles})`, v);
  return (v as Array<[number, number]>).map(([h, w]) => [h, w]);
}
