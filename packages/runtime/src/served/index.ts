// Served backends: LanguageModel implementations over HTTP engines.
export {
  ServedModelError,
  ServedHttpError,
  ServedTimeoutError,
  ServedConnectionError,
  ServedAbortError,
  ServedProtocolError,
  ServedRequestError,
} from './errors.js';
export type {
  OpenAIContentPart,
  OpenAIToolCall,
  OpenAIMessage,
  OpenAITool,
  OpenAISamplingFields,
  OpenAIChatRequest,
  OpenAIChatLogprob,
  OpenAIUsage,
  OpenAIToolCallDelta,
  OpenAIChatChunk,
  OpenAIChatCompletion,
  OpenAICompletionRequest,
  OpenAICompletionChoice,
  OpenAICompletionResponse,
} from './openai-wire.js';
export { parseSse, type SseEvent } from './sse.js';
export { imageToUrl, bytesToDataUrl, parseDataUrl, sniffImageType } from './images.js';
export { toOpenAIMessages, toOpenAITools, promptToString, type WireTextOptions } from './to-openai.js';
export { escapeSpecialTokens, escapeSpecialTokensAcross, escapePromptContent, hasSpecialTokenLookalike, SPECIAL_TOKEN_BREAK } from './special-tokens.js';
export { defaultRetryPolicy, isInputRejection, parseRetryAfter, type RetryPolicy } from './retry.js';
export { OpenAICompatibleModel, type OpenAICompatibleModelOptions } from './openai-compatible-model.js';
export { listServedModels } from './list-models.js';
