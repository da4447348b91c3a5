// Image intake and the Mllama image processor (HF MllamaImageProcessor, transformers 4.45.2).
export * from './errors.js';
export * from './config.js';
export * from './limits.js';
export * from './sniff.js';
export * from './source.js';
export * from './decode.js';
export * from './rgb.js';
export * from './canvas.js';
export * from './resample.js';
export * from './tiles.js';
export * from './cross-attention-mask.js';
export * from './processor.js';
export * from './image-processor.js';
export * from './reference-check.js';
export { ImageWorker } from './worker/image-worker.js';
