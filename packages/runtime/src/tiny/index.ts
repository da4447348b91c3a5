// Tiny randomly initialised checkpoints in the exact Hugging Face layout, for tests and demos.
export { writeTinyCheckpoint, type TinyCheckpoint } from './write-tiny-checkpoint.js';
export {
  resolveTinySizes,
  LLAMA3_VOCAB_SIZE,
  type TinyArch,
  type TinyDtype,
  type TinyCheckpointOptions,
  type TinyVisionSizes,
  type TinySizes,
} from './sizes.js';
export { TinyCheckpointError, type TinyCheckpointErrorCode } from './errors.js';
