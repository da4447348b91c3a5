// Image intake and the Mllama image processor (HF MllamaImageProcessor, transformers 4.45.2).
export {
  ImageError,
  ImageInputError,
  ImageLimitError,
  ImageFormatError,
  ImageFetchError,
  ImageConfigError,
  VisionPromptError,
  ImageWorkerError,
  type ImageErrorCode,
} from './errors.js';
export { MLLAMA_PROCESSOR_CONFIG, parsePreprocessorConfig, loadPreprocessorConfig, type ImageProcessorConfig } from './config.js';
export { DEFAULT_IMAGE_LIMITS, resolveLimits, type ImageLimits } from './limits.js';
export { ACCEPTED_FORMATS, detectImageFormat, sniffImageFormat, type ImageFormat } from './sniff.js';
export { readImageBytes, type ImageSource, type ImageSourceOptions } from './source.js';
export { readImageHeader, decodeImage, type ImageHeader, type DecodedImage, type ImageDecodeOptions } from './decode.js';
export { toRgb, compositeOverWhite, cmykToRgb } from './rgb.js';
export { supportedTileGrids, aspectRatioId, aspectRatioMask, chooseTileGrid, fitToCanvas, planCanvas, type TileGrid } from './canvas.js';
export { resizeBilinearPillow } from './resample.js';
export { crossAttentionTokenRanges, buildCrossAttentionMask, type CrossAttentionMaskOptions } from './cross-attention-mask.js';
export {
  MLLAMA_IMAGE_TOKEN_ID,
  processImage,
  processRgbPixels,
  prepareVisionInputs,
  type ProcessedImage,
  type ProcessImageOptions,
  type PrepareVisionOptions,
} from './processor.js';
export { ImageProcessor, type ImageProcessorOptions } from './image-processor.js';
export { ProcessedImageCache } from './processed-cache.js';
export { ImageWorker } from './worker/image-worker.js';
export {
  verifyImageReference,
  DEFAULT_PIXEL_TOLERANCE,
  type ImageReferenceReport,
  type ImageReferenceResult,
} from './reference-check.js';
