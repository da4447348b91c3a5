// Public surface of @lookout/core (LangChain adapters: "@lookout/core/langchain"; test doubles: "@lookout/core/testing").
export * from './agent/index.js';
export {
  AgentError,
  MaxStepsExceeded,
  ModelStepFailed,
  OutputValidationFailed,
  RunAborted,
  InvalidRunState,
  InvalidAgentInput,
  SessionError,
  SessionConflictError,
} from './errors.js';
export type { AgentErrorCode } from './errors.js';
export * from './guarding/index.js';
export * from './sessions/index.js';
