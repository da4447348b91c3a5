// Public surface of @lookout/runtime, named one by one: what users of the runtime (and the other
// packages, the examples and the benchmarks) call, the types in those calls' signatures and every
// error class. Subsystem indexes list more for the runtime's own modules; test support is
// @lookout/runtime/testing, the worker-thread stack @lookout/runtime/worker-support.

// The model contract every engine implements.
export type { LanguageModel, ModelCapabilities, ModelRequest, PreparedRequest, StreamOptions, ModelEvent, FinishReason, Usage, TokenLogprob } from './model/types.js';
export type { ChatMessage, ContentPart, TextPart, ImagePart, ImageInput, PromptSegment, ToolSpec, ToolCall, ToolChoice, JsonSchema, ResponseFormat, SamplingSettings } from './model/types.js';
export type { DecodeSession, ForwardEngine, VisionInputs } from './model/engine.js';

// In-process models: OnnxModel, generate() over a ForwardEngine, the engine worker.
export {
  assertExecutionProvider,
  ContextLengthExceededError,
  EngineWorkerError,
  ExecutionProviderUnavailableError,
  generate,
  GenerationAbortedError,
  GenerationError,
  InvalidGenerationRequestError,
  InvalidModelRequestError,
  llamaChatProtocol,
  MissingRuntimePartError,
  ModelNotBuiltError,
  OnnxModel,
  QueueFullError,
  RequestQueue,
  WorkerEngine,
  type ChatProtocol,
  type ConstrainedDecodeStats,
  type EngineFactorySpec,
  type ExecutionProvider,
  type GeneratedToken,
  type GenerateOptions,
  type GenerationFinishReason,
  type GenerationResult,
  type ModelTokenizer,
  type OnnxModelLoadOptions,
  type OnnxModelParts,
  type OnnxWorkerOptions,
  type OutputEvent,
  type OutputParser,
  type RequestQueueStats,
  type VisionPreparer,
} from './generation/index.js';
export { asProviderError } from './generation/model/providers.js';

// Sampling on logits.
export {
  InvalidSamplingError,
  applyRepetitionPenalty,
  applyTemperature,
  applyTopK,
  applyTopP,
  argmax,
  logSoftmax,
  sampleCategorical,
  seededRandom,
  tokenLogprobs,
  type IdLogprob,
  type Random,
} from './sampling/index.js';

// Constrained decoding (response_format, forced tool calls).
export {
  compileConstraint,
  CompiledGrammar,
  ConstraintError,
  setMaskCacheBudget,
  UnsupportedSchemaError,
  VocabularyTrie,
  type ConstraintErrorCode,
  type ConstraintSpec,
} from './constraints/index.js';

// Served engines (OpenAI-compatible HTTP).
export {
  escapePromptContent,
  escapeSpecialTokens,
  escapeSpecialTokensAcross,
  isInputRejection,
  listServedModels,
  OpenAICompatibleModel,
  parseDataUrl,
  type OpenAIChatLogprob,
  type OpenAICompatibleModelOptions,
  type OpenAIToolCall,
  type RetryPolicy,
} from './served/index.js';
export { ServedModelError, ServedHttpError, ServedTimeoutError, ServedConnectionError, ServedAbortError, ServedProtocolError, ServedRequestError } from './served/index.js';

// The ONNX builder and engine, model checks and CUDA profiles.
export {
  analyzeDeviceCopies,
  buildModel,
  chooseToken,
  findProfileFiles,
  kvCacheResidency,
  maxAbsDiff,
  OnnxDecodeSession,
  OnnxEngine,
  OnnxError,
  ProfileError,
  readCaseInputs,
  readProfile,
  verifyCase,
  type BuildDtype,
  type BuildManifest,
  type BuildOptions,
  type BuildProgress,
  type BuildResult,
  type CopyOp,
  type CopyTally,
  type DeviceCopy,
  type DeviceCopyReport,
  type KvCacheResidency,
  type KvCacheShape,
  type LoopExecution,
  type OnnxEngineOptions,
  type OnnxErrorCode,
  type PrefillOptions,
  type ProfileErrorCode,
  type ProfileEvent,
  type SampleParams,
  type TensorTypeShape,
  type VerifyOptions,
  type VerifyReport,
} from './onnx/index.js';

// Tokenizer and chat format.
export {
  buildLlama3TokenizerFiles,
  LlamaTokenizer,
  MLLAMA_IMAGE_TOKEN_ID,
  StreamingDecoder,
  TokenizerError,
  type AddedTokenJson,
  type BuildLlama3TokenizerOptions,
  type DecodeOptions,
  type EncodeOptions,
  type EncodeSegmentsOptions,
  type Llama3TokenizerFiles,
  type LlamaSpecialIds,
  type StreamingDecoderOptions,
  type TokenizerErrorCode,
} from './tokenizer/index.js';
export {
  assignToolCallIds,
  ChatFormatError,
  parseToolCalls,
  renderChat,
  renderChatString,
  segmentsToString,
  ToolCallStreamParser,
  type ChatFormatErrorCode,
  type ParsedToolCall,
  type RenderChatOptions,
  type StreamMode,
  type ToolCallFormat,
  type ToolCallParseResult,
  type ToolCallStreamEnd,
} from './chat/index.js';

// Images: intake and the Mllama image processor.
export {
  aspectRatioId,
  aspectRatioMask,
  buildCrossAttentionMask,
  crossAttentionTokenRanges,
  decodeImage,
  ImageConfigError,
  ImageError,
  ImageFetchError,
  ImageFormatError,
  ImageInputError,
  ImageLimitError,
  ImageProcessor,
  ImageWorker,
  ImageWorkerError,
  loadPreprocessorConfig,
  parsePreprocessorConfig,
  planCanvas,
  prepareVisionInputs,
  ProcessedImageCache,
  processImage,
  processRgbPixels,
  readImageBytes,
  readImageHeader,
  resizeBilinearPillow,
  resolveLimits,
  toRgb,
  verifyImageReference,
  VisionPromptError,
  type CrossAttentionMaskOptions,
  type DecodedImage,
  type ImageDecodeOptions,
  type ImageErrorCode,
  type ImageFormat,
  type ImageHeader,
  type ImageLimits,
  type ImageProcessorConfig,
  type ImageProcessorOptions,
  type ImageReferenceReport,
  type ImageReferenceResult,
  type ImageSource,
  type ImageSourceOptions,
  type PrepareVisionOptions,
  type ProcessedImage,
  type ProcessImageOptions,
  type TileGrid,
} from './images/index.js';

// Model files: Hugging Face directories and safetensors.
export {
  assertWeightsMatch,
  checkWeights,
  expectedParameters,
  loadModelDirectory,
  ModelFileError,
  parseGenerationConfig,
  parseModelConfig,
  parsePreprocessorConfigJson,
  parseTokenizerConfig,
  type AddedToken,
  type GenerationConfig,
  type LoadModelDirectoryOptions,
  type ModelArch,
  type ModelConfig,
  type ModelDirectory,
  type ModelDirectoryPart,
  type ModelFileErrorCode,
  type ParameterKind,
  type ParameterSpec,
  type PreprocessorConfig,
  type TextConfig,
  type TokenizerConfig,
  type VisionConfig,
  type WeightFiles,
  type WeightsReport,
} from './files/index.js';
export {
  SafetensorsError,
  SafetensorsFile,
  SafetensorsIndex,
  SafetensorsWriter,
  writeSafetensors,
  type SafetensorsDtype,
  type SafetensorsErrorCode,
  type SafetensorsWriterOptions,
  type TensorDeclaration,
  type TensorInfo,
  type TensorSource,
} from './weights/index.js';

// Tiny random checkpoints in the Hugging Face layout, and GGUF files for llama.cpp.
export {
  TinyCheckpointError,
  writeTinyCheckpoint,
  type TinyArch,
  type TinyCheckpoint,
  type TinyCheckpointErrorCode,
  type TinyCheckpointOptions,
  type TinyDtype,
  type TinySizes,
  type TinyVisionSizes,
} from './tiny/index.js';
export { writeLlamaGguf, GgufError, type LlamaGgufOptions, type LlamaGgufResult, type GgmlType, type GgufErrorCode } from './gguf/index.js';

export { AsyncQueue } from './async/async-queue.js';
// The base class of every error above (from @lookout/tools, the lowest package), for runtime's users.
export { LookoutError } from '@lookout/tools/errors';
