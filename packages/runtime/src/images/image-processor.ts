import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { VisionInputs } from '../model/engine.js';
import { loadPreprocessorConfig, MLLAMA_PROCESSOR_CONFIG, type ImageProcessorConfig } from './config.js';
import type { ImageLimits } from './limits.js';
import { prepareVisionInputs, processImage, type ProcessedImage } from './processor.js';
import { ProcessedImageCache } from './processed-cache.js';
import type { ImageSource } from './source.js';
import { ImageWorker } from './worker/image-worker.js';

export interface ImageProcessorOptions {
  limits?: Partial<ImageLimits>;
  /** Replaces global fetch for http(s) images. */
  fetch?: typeof fetch;
  /** Id of <|image|>; default 128256. */
  imageTokenId?: number;
  /** Resize/normalise on a worker thread so the event loop stays free (call close() when done). */
  offThread?: boolean;
  /**
   * Processed images kept by the hash of their bytes, so the same photo is decoded once per
   * conversation, not once per model step. Default: a cache of up to 256 MiB of pixel data;
   * `false` turns it off.
   */
  cache?: ProcessedImageCache | false;
}

/**
 * A model's image processor: its preprocessor config plus the intake limits, so callers that
 * hold a model directory need not thread both through every call.
 */
export class ImageProcessor {
  constructor(
    readonly config: ImageProcessorConfig = MLLAMA_PROCESSOR_CONFIG,
    readonly options: ImageProcessorOptions = {},
  ) {
    this.cache = options.cache === false ? undefined : (options.cache ?? new ProcessedImageCache());
    // A shared cache may serve processors with other settings: those are part of the key.
    this.cacheScope = JSON.stringify([config, options.limits ?? null]);
  }

  private readonly cacheScope: string;

  /**
   * Reads `preprocessor_config.json` from a model directory. Without one, the Llama 3.2 Vision
   * settings, with tile size and tile count taken from config.json's vision_config when it has
   * them (small test checkpoints use small tiles).
   */
  static async fromModelDir(dir: string, options: ImageProcessorOptions = {}): Promise<ImageProcessor> {
    const file = path.join(dir, 'preprocessor_config.json');
    if (await exists(file)) return new ImageProcessor(await loadPreprocessorConfig(file), options);
    return new ImageProcessor(await configFromVisionConfig(path.join(dir, 'config.json')), options);
  }

  private worker: ImageWorker | undefined;
  /** The processed-image cache in use (undefined when turned off). */
  readonly cache: ProcessedImageCache | undefined;

  async process(input: ImageSource, call: { signal?: AbortSignal } = {}): Promise<ProcessedImage> {
    const hash = this.cache && ProcessedImageCache.keyOf(input);
    const key = hash === undefined ? undefined : `${this.cacheScope}:${hash}`;
    const cached = key !== undefined ? this.cache!.get(key) : undefined;
    if (cached) return cached;
    const options = { config: this.config, limits: this.options.limits, fetch: this.options.fetch, signal: call.signal };
    const processed = this.options.offThread ? await (this.worker ??= new ImageWorker()).process(input, options) : await processImage(input, options);
    if (key !== undefined) this.cache!.set(key, processed);
    return processed;
  }

  async prepare(
    images: ReadonlyArray<ImageSource | ProcessedImage>,
    inputIds: ArrayLike<number>,
    call: { signal?: AbortSignal; imageTokenId?: number } = {},
  ): Promise<VisionInputs> {
    // Process here (possibly off-thread); prepareVisionInputs then only packs and builds the mask.
    const processed: ProcessedImage[] = [];
    for (const image of images) processed.push(isProcessed(image) ? image : await this.process(image, call));
    return prepareVisionInputs(processed, inputIds, {
      config: this.config,
      limits: this.options.limits,
      fetch: this.options.fetch,
      imageTokenId: call.imageTokenId ?? this.options.imageTokenId,
      signal: call.signal,
    });
  }

  /** Stops the worker thread, if one was started. */
  async close(): Promise<void> {
    await this.worker?.close();
    this.worker = undefined;
  }
}

const exists = (file: string) => access(file).then(() => true, () => false);

async function configFromVisionConfig(configJson: string): Promise<ImageProcessorConfig> {
  if (!(await exists(configJson))) return MLLAMA_PROCESSOR_CONFIG;
  const vision = (JSON.parse(await readFile(configJson, 'utf8')) as { vision_config?: { image_size?: unknown; max_num_tiles?: unknown } }).vision_config;
  const tileSize = typeof vision?.image_size === 'number' ? vision.image_size : MLLAMA_PROCESSOR_CONFIG.tileSize;
  const maxImageTiles = typeof vision?.max_num_tiles === 'number' ? vision.max_num_tiles : MLLAMA_PROCESSOR_CONFIG.maxImageTiles;
  return { ...MLLAMA_PROCESSOR_CONFIG, tileSize, maxImageTiles };
}

function isProcessed(x: unknown): x is ProcessedImage {
  return typeof x === 'object' && x !== null && (x as ProcessedImage).pixelValues instanceof Float32Array;
}
