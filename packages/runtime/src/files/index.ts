// Reading a Hugging Face model directory: config, generation, tokenizer and preprocessor files.
export { ModelFileError, type ModelFileErrorCode } from './errors.js';
export { readJsonFile } from './json-reader.js';
export { parseModelConfig, type ModelConfig, type ModelArch } from './model-config.js';
export { parseTextConfig, type TextConfig, type TextRopeScaling } from './text-config.js';
export { parseVisionConfig, DEFAULT_SUPPORTED_ASPECT_RATIOS, type VisionConfig } from './vision-config.js';
export { parseGenerationConfig, generationConfigFromModel, type GenerationConfig } from './generation-config.js';
export { parseTokenizerConfig, type TokenizerConfig, type AddedToken } from './tokenizer-config.js';
export { parsePreprocessorConfigJson, type PreprocessorConfig } from './preprocessor-config.js';
export {
  loadModelDirectory,
  MODEL_FILES,
  type ModelDirectory,
  type ModelDirectoryPart,
  type LoadModelDirectoryOptions,
  type WeightFiles,
} from './model-directory.js';
export { expectedParameters, MLLAMA_EXTRA_EMBED_ROWS, type ParameterSpec, type ParameterKind } from './parameter-layout.js';
export { checkWeights, assertWeightsMatch, type WeightsReport } from './check-weights.js';
