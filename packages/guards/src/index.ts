// Public surface of @lookout/guards.
export * from './types.js';
export * from './errors.js';
export * from './compose/index.js';
export * from './rules/index.js';
export * from './policy/index.js';
export * from './llama-guard/index.js';
export * from './prompt-guard/index.js';
