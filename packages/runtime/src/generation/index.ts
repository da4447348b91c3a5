// Generation: the decode loop, the engine worker, request queueing and OnnxModel.
export {
  GenerationError,
  InvalidGenerationRequestError,
  ContextLengthExceededError,
  GenerationAbortedError,
  QueueFullError,
  EngineWorkerError,
  ExecutionProviderUnavailableError,
  ModelNotBuiltError,
  InvalidModelRequestError,
  MissingRuntimePartError,
} from './errors.js';
export { StopStringMatcher } from './streaming/stop-strings.js';
export type { TokenDecoder } from './streaming/tokenizer-like.js';
export {
  generate,
  DEFAULT_MAX_TOKENS,
  type GenerateOptions,
  type GenerationResult,
  type GeneratedToken,
  type GenerationFinishReason,
} from './generate.js';
export type { ConstrainedDecodeStats } from './decode-plan.js';
export { DEFAULT_DECODE_CHUNK, inGraphSampling, type InGraphSampling, type MultiStepDecodeSession } from './chunked-decode.js';
export { RequestQueue, type RequestQueueStats } from './concurrency/request-queue.js';
export { WorkerEngine, type OnnxWorkerOptions } from './worker/worker-engine.js';
export type { EngineFactorySpec } from './worker/protocol.js';
export { OnnxModel } from './model/onnx-model.js';
export type { OnnxModelLoadOptions } from './model/load-onnx-model.js';
export type { ChatProtocol, ModelTokenizer, OnnxModelParts, OutputEvent, OutputParser, VisionPreparer } from './model/model-parts.js';
export { llamaChatProtocol } from './model/llama-chat-protocol.js';
export {
  assertExecutionProvider,
  cudaProviderLibrary,
  onnxruntimeBindingDir,
  EXECUTION_PROVIDERS,
  type ExecutionProvider,
} from './model/providers.js';
