import type { ImageProcessorConfig } from '../config.js';
import type { ProcessedImage } from '../processor.js';
import type { Reply } from '../../worker-support/index.js';

/** Main thread -> image worker: decoded RGB pixels to resize, normalise and tile. */
export interface ImageWorkerRequest {
  id: number;
  rgb: Uint8Array;
  width: number;
  height: number;
  config: ImageProcessorConfig;
}

/** Image worker -> main thread. */
export type ImageWorkerResponse = Reply<ProcessedImage>;
