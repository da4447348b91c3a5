// Typed errors of the generation layer, on GenerationError (model/errors.ts, shared with
// sampling/'s InvalidSamplingError).
import { GenerationError } from '../model/errors.js';

export { GenerationError };

/** A generate() argument is malformed (empty prompt, bad eos ids, ...). */
export class InvalidGenerationRequestError extends GenerationError {
  /** `code` is INVALID_GENERATION_REQUEST, or CONTEXT_EXCEEDED for a prompt longer than the model's context. */
  constructor(message: string, code: 'INVALID_GENERATION_REQUEST' | 'CONTEXT_EXCEEDED' = 'INVALID_GENERATION_REQUEST') {
    super(code, message);
  }
}

/**
 * The prompt leaves no room for a reply in the model's context (max_position_embeddings).
 * `promptTokens` and `contextLength` say by how much, so front ends can word their own message.
 */
export class ContextLengthExceededError extends InvalidGenerationRequestError {
  constructor(
    readonly promptTokens: number,
    readonly contextLength: number,
  ) {
    super(
      `The prompt has ${promptTokens} tokens; this model's context holds ${contextLength} positions, so a prompt must be shorter than that to leave room for a reply.`,
      'CONTEXT_EXCEEDED',
    );
  }
}

/** The request was aborted before it reached the model (e.g. while waiting in the queue). */
export class GenerationAbortedError extends GenerationError {
  constructor(message = 'The generation was aborted before it started.') {
    super('GENERATION_ABORTED', message);
  }
}

/** Too many requests are already waiting for this model. */
export class QueueFullError extends GenerationError {
  constructor(readonly maxQueue: number) {
    super(
      'QUEUE_FULL',
      `The model's request queue is full (${maxQueue} waiting). Retry later or raise maxQueue in OnnxModel.load options.`,
    );
  }
}

/** The engine worker thread failed, exited, or reported an error from the engine. */
export class EngineWorkerError extends GenerationError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The requested execution provider is not available in this onnxruntime-node install. */
export class ExecutionProviderUnavailableError extends GenerationError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EXECUTION_PROVIDER_UNAVAILABLE', message, options);
  }
}

/** The model directory has no ONNX graphs and they could not be built here. */
export class ModelNotBuiltError extends GenerationError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MODEL_NOT_BUILT', message, options);
  }
}

/** A ModelRequest handed to OnnxModel.stream is malformed. */
export class InvalidModelRequestError extends GenerationError {
  constructor(message: string) {
    super('INVALID_MODEL_REQUEST', message);
  }
}

/** A runtime part that generation relies on (tokenizer, chat format, ...) is missing. */
export class MissingRuntimePartError extends GenerationError {
  constructor(message: string) {
    super('MISSING_RUNTIME_PART', message);
  }
}
