// @lookout/runtime/testing: test and benchmark support, for this package's tests and for other
// packages'. Not part of the runtime's public API. temp-dirs.ts (vitest hooks) is imported by
// path from test files only, so that this entry loads outside a test runner.
export {
  REFERENCE_DIR,
  REFERENCE_MLLAMA_DIR,
  REFERENCE_IMAGES_DIR,
  hasReferenceModels,
  referenceGeneration,
  referenceModelDir,
  type ReferenceCase,
  type ReferenceGeneration,
  type ReferenceModelDirOptions,
} from './reference-model-dir.js';
export { ScriptedEngine, type ScriptedEngineOptions } from './scripted-engine.js';
export { ByteTableTokenizer } from './byte-tokenizer.js';
export { CharTokenizer } from './char-tokenizer.js';
export { llama3TestTokenizer } from './llama3-test-tokenizer.js';
export { gradientPixels, encodePng, encodePngRaw, pngChunk, pngBombHeader, withColorKey, startServer } from './image-fixtures.js';
export { EXTRA_CASES, noisePixels, pixelHash, sha256, type ExtraCase } from './image-extra-cases.js';
export {
  gaussian,
  writeTinyLlama,
  writeTinyMllama,
  writeBf16Variant,
  writeTransformed,
  loadAllWeights,
  twoImageVision,
  type TinyLlamaOptions,
  type TinyMllamaOptions,
} from './checkpoints.js';
export { referenceDecoder, referenceVision, type Weights } from './reference-forward.js';
export { withTempDir, rawSafetensors } from './safetensors-helpers.js';
export { useTinyOnnxModel, type TinyOnnxModel } from './tiny-onnx-model.js';
export { STRUCTURE_ONLY_SCHEMA } from './constraint-schemas.js';
