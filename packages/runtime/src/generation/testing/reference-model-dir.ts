// Kept for existing imports; the helpers live in testing/ (exported by @lookout/runtime).
export {
  REFERENCE_MLLAMA_DIR as REFERENCE_ROOT,
  referenceGeneration,
  referenceModelDir,
  type ReferenceGeneration,
} from '../../testing/index.js';
