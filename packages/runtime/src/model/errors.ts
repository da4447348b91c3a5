import { LookoutError } from '@lookout/tools/errors';

/**
 * Base of the errors a model's generation throws (generation/errors.ts; InvalidSamplingError in
 * sampling/). Here, beside the model contract, so that sampling/ and generation/ both build on it
 * without sampling/ importing generation/. Every error carries a stable `code` that callers can
 * switch on; the message names what was wrong and what is accepted.
 */
export class GenerationError extends LookoutError {}
