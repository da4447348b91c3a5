// OpenAI Agents SDK adapter: import from "@lookout/core/openai-agents".
export { inputGuardrail, outputGuardrail, toolInputGuardrail, toolOutputGuardrail, type GuardrailOptions, type GuardrailInfo } from './guardrails.js';
export { LookoutAgentsModel, LookoutModelProvider, lookoutAgentsModel, type LookoutAgentsModelOptions } from './model.js';
export { OpenAIAgentsAdapterError, type OpenAIAgentsErrorCode } from './errors.js';
export type { JsonWithTools } from '../ai-sdk/structured-reply.js';
