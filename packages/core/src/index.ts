// Public surface of @lookout/core (LangChain adapters: "@lookout/core/langchain"; test doubles: "@lookout/core/testing").
export * from './agent/index.js';
export * from './errors.js';
export * from './guarding/index.js';
export * from './sessions/index.js';
