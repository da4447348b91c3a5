// LangChain adapters: import from "@lookout/core/langchain".
export { ChatLookout, type ChatLookoutFields, type ChatLookoutCallOptions } from './chat-lookout.js';
export { guardMiddleware, type GuardMiddlewareOptions } from './guard-middleware.js';
export { guardRunnable, type GuardRunnableOptions } from './guard-runnable.js';
export { fromLangChainTool, toLangChainTool } from './tools.js';
export { toLookoutMessages, toContentParts } from './messages.js';
export { LangChainAdapterError, UnsupportedContentError, GuardBlockedError, StructuredOutputError } from './errors.js';
