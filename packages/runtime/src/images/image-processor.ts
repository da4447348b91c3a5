import { access } from 'node:fs/promises';
import path from 'node:path';
import type { VisionInputs } from '../model/engine.js';
import { loadPreprocessorConfig, MLLAMA_PROCESSOR_CONFIG, type ImageProcessorConfig } from './config.js';
import type { ImageLimits } from './limits.js';
import { prepareVisionInputs, processImage, type ProcessedImage } from './processor.js';
import type { ImageSource } from './source.js';

export interface ImageProcessorOptions {
  limits?: Partial<ImageLimits>;
  /** Replaces global fetch for http(s) images. */
  fetch?: typeof fetch;
  /** Id of <|image|>; default 128256. */
  imageTokenId?: number;
}

/**
 * A model's image processor: its preprocessor config plus the intake limits, so callers that
 * hold a model directory need not thread both through every call.
 */
export class ImageProcessor {
  constructor(
    readonly config: ImageProcessorConfig = MLLAMA_PROCESSOR_CONFIG,
    readonly options: ImageProcessorOptions = {},
  ) {}

  /** Reads `preprocessor_config.json` from a model directory; the checkpoint defaults when it has none. */
  static async fromModelDir(dir: string, options: ImageProcessorOptions = {}): Promise<ImageProcessor> {
    const file = path.join(dir, 'preprocessor_config.json');
    const present = await access(file).then(() => true, () => false);
    return new ImageProcessor(present ? await loadPreprocessorConfig(file) : MLLAMA_PROCESSOR_CONFIG, options);
  }

  process(input: ImageSource, call: { signal?: AbortSignal } = {}): Promise<ProcessedImage> {
    return processImage(input, { config: this.config, limits: this.options.limits, fetch: this.options.fetch, signal: call.signal });
  }

  prepare(images: ReadonlyArray<ImageSource | ProcessedImage>, inputIds: ArrayLike<number>, call: { signal?: AbortSignal } = {}): Promise<VisionInputs> {
    return prepareVisionInputs(images, inputIds, {
      config: this.config,
      limits: this.options.limits,
      fetch: this.options.fetch,
      imageTokenId: this.options.imageTokenId,
      signal: call.signal,
    });
  }
}
