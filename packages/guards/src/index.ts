// Public surface of @lookout/guards.
export type { Stage, GuardSubject, Verdict, Redaction, GuardCheckOptions, Guard } from './types.js';
export { GuardError, GuardConfigError, GuardTimeoutError, GuardImageUnsupportedError, GuardModelError, GuardAbortError } from './errors.js';
export * from './compose/index.js';
export * from './rules/index.js';
export * from './policy/index.js';
export * from './llama-guard/index.js';
export * from './prompt-guard/index.js';
