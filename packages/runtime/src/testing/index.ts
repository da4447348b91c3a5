// Test and benchmark support shared across packages (reference checkpoints beside the repository).
export {
  REFERENCE_MLLAMA_DIR,
  REFERENCE_IMAGES_DIR,
  hasReferenceModels,
  referenceGeneration,
  referenceModelDir,
  type ReferenceCase,
  type ReferenceGeneration,
  type ReferenceModelDirOptions,
} from './reference-model-dir.js';
