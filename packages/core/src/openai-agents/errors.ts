import { LookoutError } from '@lookout/tools';

/** Stable codes for errors raised by the OpenAI Agents SDK adapter. */
export type OpenAIAgentsErrorCode = 'openai-agents-unsupported' | 'openai-agents-unknown-model';

/**
 * An Agents SDK request the Lookout model cannot serve (a hosted tool, a file input, a stored
 * response id), or a model name a provider does not know; `code` is stable.
 */
export class OpenAIAgentsAdapterError extends LookoutError<OpenAIAgentsErrorCode> {}
