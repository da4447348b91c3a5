// Tiny randomly initialised checkpoints in the exact Hugging Face layout, for tests and demos.
export { writeTinyCheckpoint, type TinyCheckpoint } from './write-tiny-checkpoint.js';
export {
  resolveTinySizes,
  LLAMA3_VOCAB_SIZE,
  MLLAMA_EXTRA_EMBED_ROWS,
  type TinyArch,
  type TinyDtype,
  type TinyCheckpointOptions,
  type TinyVisionSizes,
  type TinySizes,
} from './sizes.js';
export { tinyParameters, type TinyParameter, type InitRule } from './parameters.js';
export { TinyCheckpointError, type TinyCheckpointErrorCode } from './errors.js';
