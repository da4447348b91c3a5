// `lookout serve`: an OpenAI-compatible HTTP server over any LanguageModel.
export { LookoutServer, type LookoutServerOptions } from './server.js';
export { ServeError, ServeConfigError } from './errors.js';
export { ConcurrencyLimiter } from './limiter.js';
export { chatCompletionRequestSchema, completionRequestSchema } from './schema.js';
