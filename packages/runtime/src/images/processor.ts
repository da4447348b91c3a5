import type { VisionInputs } from '../model/engine.js';
import { planCanvas, aspectRatioId, aspectRatioMask, type TileGrid } from './canvas.js';
import { MLLAMA_PROCESSOR_CONFIG, type ImageProcessorConfig } from './config.js';
import { buildCrossAttentionMask } from './cross-attention-mask.js';
import { decodeImage, type ImageDecodeOptions } from './decode.js';
import { resolveLimits, type ImageLimits } from './limits.js';
import { resizeBilinearPillow } from './resample.js';
import { toRgb } from './rgb.js';
import { readImageBytes, throwIfAborted, type ImageSource, type ImageSourceOptions } from './source.js';
import { channelLookupTables, writeNormalizedTiles } from './tiles.js';

export interface ProcessImageOptions extends ImageSourceOptions, ImageDecodeOptions {
  config?: ImageProcessorConfig;
  limits?: Partial<ImageLimits>;
}

/** One image ready for the vision encoder, and how it got there. */
export interface ProcessedImage {
  /** [numTiles, 3, tileSize, tileSize] float32, valid tiles only, row-major tile order. */
  pixelValues: Float32Array;
  numTiles: number;
  grid: TileGrid;
  /** 1 + index of the grid among the supported aspect ratios. */
  aspectRatioId: number;
  /** maxImageTiles entries, 1 for each valid tile. */
  aspectRatioMask: number[];
  /** The padded canvas (grid * tileSize). */
  canvas: { height: number; width: number };
  /** Size of the image after resizing, before padding. */
  resized: { height: number; width: number };
  /** Size of the decoded image (after EXIF orientation unless that was turned off). */
  original: { height: number; width: number };
  tileSize: number;
  maxTiles: number;
}

/**
 * Runs MllamaImageProcessor on already decoded RGB pixels (interleaved, width x height):
 * canvas choice, Pillow-exact bilinear resize, zero padding, rescale + normalise, tile split.
 */
export function processRgbPixels(
  rgb: Uint8Array,
  width: number,
  height: number,
  config: ImageProcessorConfig = MLLAMA_PROCESSOR_CONFIG,
): ProcessedImage {
  const { tileSize, maxImageTiles } = config;
  const { grid, canvas, resized } = planCanvas(height, width, maxImageTiles, tileSize);
  const pixels = resizeBilinearPillow(rgb, width, height, 3, resized.width, resized.height);
  const numTiles = grid.tilesHigh * grid.tilesWide;
  const pixelValues = new Float32Array(numTiles * 3 * tileSize * tileSize);
  writeNormalizedTiles(pixels, resized.width, resized.height, grid.tilesHigh, grid.tilesWide, config, pixelValues, 0, lookupTablesFor(config));
  return {
    pixelValues,
    numTiles,
    grid,
    aspectRatioId: aspectRatioId(grid, maxImageTiles),
    aspectRatioMask: aspectRatioMask(numTiles, maxImageTiles),
    canvas,
    resized,
    original: { height, width },
    tileSize,
    maxTiles: maxImageTiles,
  };
}

/** Reads, checks, decodes (EXIF-oriented) and converts one image to RGB over white. */
export async function readImageRgb(input: ImageSource, options: ProcessImageOptions = {}): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const limits = resolveLimits(options.limits);
  const bytes = await readImageBytes(input, limits, options);
  throwIfAborted(options.signal);
  const decoded = await decodeImage(bytes, limits, options);
  throwIfAborted(options.signal);
  return { rgb: toRgb(decoded.data, decoded.width * decoded.height, decoded.channels), width: decoded.width, height: decoded.height };
}

/** Reads, checks, decodes (EXIF-oriented), converts to RGB over white and processes one image. */
export async function processImage(input: ImageSource, options: ProcessImageOptions = {}): Promise<ProcessedImage> {
  const { rgb, width, height } = await readImageRgb(input, options);
  return processRgbPixels(rgb, width, height, options.config ?? MLLAMA_PROCESSOR_CONFIG);
}

/** Id of <|image|> in Llama 3.2 Vision's tokenizer (one past the text vocabulary). */
export const MLLAMA_IMAGE_TOKEN_ID = 128256;

export interface PrepareVisionOptions extends ProcessImageOptions {
  /** Id of <|image|> in the tokenizer; default MLLAMA_IMAGE_TOKEN_ID (128256). */
  imageTokenId?: number;
}

function isProcessed(x: unknown): x is ProcessedImage {
  return typeof x === 'object' && x !== null && (x as ProcessedImage).pixelValues instanceof Float32Array;
}

/**
 * Everything the vision graph needs for one prompt: all images processed (in prompt order, one
 * per <|image|> token), packed as [1, numImages, maxTiles, 3, S, S] with unused tiles 0, plus
 * aspect-ratio ids/masks and the dense cross-attention mask over the prompt's tokens.
 */
export async function prepareVisionInputs(
  images: ReadonlyArray<ImageSource | ProcessedImage>,
  inputIds: ArrayLike<number>,
  options: PrepareVisionOptions = {},
): Promise<VisionInputs> {
  const config = options.config ?? MLLAMA_PROCESSOR_CONFIG;
  const processed: ProcessedImage[] = [];
  // One at a time: each decode may hold a large buffer; the caller's images are usually few.
  for (const image of images) processed.push(isProcessed(image) ? image : await processImage(image, options));
  for (const p of processed) {
    if (p.tileSize !== config.tileSize || p.maxTiles !== config.maxImageTiles) {
      throw new RangeError(`a processed image has ${p.tileSize}px tiles / ${p.maxTiles} max tiles, the config ${config.tileSize} / ${config.maxImageTiles}`);
    }
  }
  const maxTiles = config.maxImageTiles;
  const crossAttentionMask = buildCrossAttentionMask(inputIds, {
    imageTokenId: options.imageTokenId ?? MLLAMA_IMAGE_TOKEN_ID,
    numTiles: processed.map((p) => p.numTiles),
    maxTiles,
  });
  const tileFloats = 3 * config.tileSize * config.tileSize;
  const pixelValues = new Float32Array(processed.length * maxTiles * tileFloats);
  processed.forEach((p, i) => pixelValues.set(p.pixelValues, i * maxTiles * tileFloats));
  return {
    pixelValues,
    numImages: processed.length,
    maxTiles,
    tileSize: config.tileSize,
    aspectRatioIds: processed.map((p) => p.aspectRatioId),
    aspectRatioMask: processed.map((p) => p.aspectRatioMask.slice()),
    crossAttentionMask,
  };
}

const lutCache = new WeakMap<ImageProcessorConfig, Float32Array[]>();
function lookupTablesFor(config: ImageProcessorConfig): Float32Array[] {
  let luts = lutCache.get(config);
  if (!luts) {
    luts = channelLookupTables(config);
    lutCache.set(config, luts);
  }
  return luts;
}
