// The shared tiny reference checkpoints (random weights, real Llama 3 vocabulary) for guard
// integration tests and benchmarks, through the runtime's own test support.
import {
  REFERENCE_IMAGES_DIR,
  REFERENCE_MLLAMA_DIR,
  hasReferenceModels,
  referenceModelDir as runtimeReferenceModelDir,
  type ReferenceCase,
} from '@lookout/runtime/testing';

export const REFERENCE_MLLAMA = REFERENCE_MLLAMA_DIR;
export const REFERENCE_IMAGES = REFERENCE_IMAGES_DIR;
export { hasReferenceModels };

/** A fresh temp model directory over a reference case; the caller removes it. */
export function referenceModelDir(caseName: ReferenceCase): string {
  return runtimeReferenceModelDir(caseName, { tempPrefix: `lookout-guard-${caseName}-` });
}
