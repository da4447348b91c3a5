// AI SDK adapter: import from "@lookout/core/ai-sdk".
export { guardMiddleware, type AiSdkGuardOptions, type AiSdkVerdictEvent } from './guard-middleware.js';
export { AiSdkGuardError, type AiSdkErrorCode } from './errors.js';
export { lookoutLanguageModel, type LookoutLanguageModelOptions } from './language-model.js';
export type { JsonWithTools } from './structured-reply.js';
