/**
 * The subset of the OpenAI chat-completions / completions wire format that Lookout speaks, as
 * plain types. Shared by the client (OpenAICompatibleModel) and `lookout serve`.
 */
export type OpenAIContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: string } };

export interface OpenAIToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type OpenAIMessage =
  | { role: 'system' | 'developer'; content: string | Array<{ type: 'text'; text: string }> }
  | { role: 'user'; content: string | OpenAIContentPart[] }
  | { role: 'assistant'; content: string | null; tool_calls?: OpenAIToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string; name?: string };

export interface OpenAITool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

/** The model, streaming and sampling fields that chat and legacy completion requests share. */
export interface OpenAISamplingFields {
  model: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  /** Not OpenAI; accepted by vLLM, SGLang, llama.cpp server, TGI. */
  top_k?: number;
  /** Not OpenAI; accepted by vLLM, SGLang. */
  repetition_penalty?: number;
  seed?: number;
  stop?: string | string[];
}

export interface OpenAIChatRequest extends OpenAISamplingFields {
  messages: OpenAIMessage[];
  tools?: OpenAITool[];
  max_completion_tokens?: number;
  logprobs?: boolean;
  top_logprobs?: number;
  tool_choice?: 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };
  response_format?:
    | { type: 'text' }
    | { type: 'json_object' }
    | { type: 'json_schema'; json_schema: { name: string; schema: Record<string, unknown> | boolean; strict?: boolean } };
}

export interface OpenAIChatLogprob {
  token: string;
  logprob: number;
  bytes?: number[] | null;
  /** Extension sent by `lookout serve`: the vocabulary id, so guard scores can match by id. */
  id?: number;
  top_logprobs?: Array<{ token: string; logprob: number; bytes?: number[] | null; id?: number }>;
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

export interface OpenAIToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

export interface OpenAIChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: 'assistant'; content?: string | null; tool_calls?: OpenAIToolCallDelta[] };
    logprobs?: { content: OpenAIChatLogprob[] | null } | null;
    finish_reason: string | null;
  }>;
  usage?: OpenAIUsage | null;
}

export interface OpenAIChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string | null; tool_calls?: OpenAIToolCall[] };
    logprobs?: { content: OpenAIChatLogprob[] | null } | null;
    finish_reason: string | null;
  }>;
  usage?: OpenAIUsage;
}

/** Legacy completions, used for raw prompts. */
export interface OpenAICompletionRequest extends OpenAISamplingFields {
  prompt: string;
  /** Number of alternatives per step (0 = chosen token only). */
  logprobs?: number;
}

export interface OpenAICompletionChoice {
  index: number;
  text: string;
  logprobs?: {
    tokens?: string[];
    token_logprobs?: Array<number | null>;
    top_logprobs?: Array<Record<string, number> | null> | null;
    /** llama.cpp's llama-server answers completions in the chat form, with token ids. */
    content?: OpenAIChatLogprob[] | null;
  } | null;
  finish_reason: string | null;
}

export interface OpenAICompletionResponse {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: OpenAICompletionChoice[];
  usage?: OpenAIUsage | null;
}
