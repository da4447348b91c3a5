// OpenAI Agents SDK adapter: import from "@lookout/core/openai-agents".
export { inputGuardrail, outputGuardrail, toolInputGuardrail, toolOutputGuardrail, type GuardrailOptions, type GuardrailInfo } from './guardrails.js';
