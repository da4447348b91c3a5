import { readFile } from 'node:fs/promises';
import { ImageConfigError } from './errors.js';

/** The image processor settings, as read from a checkpoint's preprocessor_config.json. */
export interface ImageProcessorConfig {
  /** Side of one square tile in pixels (size.height == size.width), 560 for Llama 3.2 Vision. */
  tileSize: number;
  maxImageTiles: number;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  rescaleFactor: number;
  doRescale: boolean;
  doNormalize: boolean;
}

/**
 * What `convert_mllama_weights_to_hf.py` writes for the real checkpoints. Not the class defaults
 * of MllamaImageProcessor (224 px, ImageNet 0.5 mean/std), which no checkpoint uses.
 */
export const MLLAMA_PROCESSOR_CONFIG: Readonly<ImageProcessorConfig> = Object.freeze({
  tileSize: 560,
  maxImageTiles: 4,
  imageMean: [0.48145466, 0.4578275, 0.40821073],
  imageStd: [0.26862954, 0.26130258, 0.27577711],
  rescaleFactor: 1 / 255,
  doRescale: true,
  doNormalize: true,
}) as Readonly<ImageProcessorConfig>;

/** PIL resample code 2; the only filter this processor implements (the checkpoints all use it). */
const PIL_BILINEAR = 2;

function triple(value: unknown, field: string): [number, number, number] {
  if (typeof value === 'number') return [value, value, value];
  if (Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    return [value[0], value[1], value[2]];
  }
  throw new ImageConfigError(`preprocessor config: ${field} must be a number or 3 numbers (one per RGB channel), got ${JSON.stringify(value)}`);
}

/** Validates a parsed preprocessor_config.json (HF field names) and maps it to ImageProcessorConfig. */
export function parsePreprocessorConfig(json: unknown): ImageProcessorConfig {
  if (!json || typeof json !== 'object') throw new ImageConfigError('preprocessor config must be a JSON object');
  const raw = json as Record<string, unknown>;
  const type = raw.image_processor_type;
  if (type !== undefined && type !== 'MllamaImageProcessor' && type !== 'MllamaImageProcessorFast') {
    throw new ImageConfigError(`preprocessor config: image_processor_type "${String(type)}" is not supported; accepted: MllamaImageProcessor`);
  }
  const size = (raw.size ?? { height: MLLAMA_PROCESSOR_CONFIG.tileSize, width: MLLAMA_PROCESSOR_CONFIG.tileSize }) as Record<string, unknown>;
  const h = size.height;
  const w = size.width;
  if (typeof h !== 'number' || typeof w !== 'number' || h !== w || !Number.isInteger(h) || h <= 0) {
    throw new ImageConfigError(`preprocessor config: size must be a square {height, width} of positive integers, got ${JSON.stringify(raw.size)}`);
  }
  const resample = raw.resample ?? PIL_BILINEAR;
  if (resample !== PIL_BILINEAR) {
    throw new ImageConfigError(`preprocessor config: resample ${JSON.stringify(resample)} is not supported; accepted: 2 (PIL BILINEAR)`);
  }
  for (const flag of ['do_resize', 'do_pad', 'do_convert_rgb'] as const) {
    if (raw[flag] === false) {
      throw new ImageConfigError(`preprocessor config: ${flag}=false is not supported; Mllama tiling needs it true (or absent)`);
    }
  }
  const maxTiles = raw.max_image_tiles ?? MLLAMA_PROCESSOR_CONFIG.maxImageTiles;
  if (typeof maxTiles !== 'number' || !Number.isInteger(maxTiles) || maxTiles < 1 || maxTiles > 64) {
    throw new ImageConfigError(`preprocessor config: max_image_tiles must be an integer in 1..64, got ${JSON.stringify(maxTiles)}`);
  }
  const rescale = raw.rescale_factor ?? MLLAMA_PROCESSOR_CONFIG.rescaleFactor;
  if (typeof rescale !== 'number' || !Number.isFinite(rescale) || rescale <= 0) {
    throw new ImageConfigError(`preprocessor config: rescale_factor must be a positive number, got ${JSON.stringify(rescale)}`);
  }
  const std = triple(raw.image_std ?? MLLAMA_PROCESSOR_CONFIG.imageStd, 'image_std');
  if (std.some((s) => s === 0)) throw new ImageConfigError('preprocessor config: image_std must not contain 0');
  return {
    tileSize: h,
    maxImageTiles: maxTiles,
    imageMean: triple(raw.image_mean ?? MLLAMA_PROCESSOR_CONFIG.imageMean, 'image_mean'),
    imageStd: std,
    rescaleFactor: rescale,
    doRescale: raw.do_rescale !== false,
    doNormalize: raw.do_normalize !== false,
  };
}

/** Reads and validates preprocessor_config.json from a file (usually next to the model's config.json). */
export async function loadPreprocessorConfig(file: string): Promise<ImageProcessorConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ImageConfigError(`cannot read preprocessor config ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ImageConfigError(`preprocessor config ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parsePreprocessorConfig(json);
}
