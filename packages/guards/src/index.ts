// Public surface of @lookout/guards.
export * from './types.js';
