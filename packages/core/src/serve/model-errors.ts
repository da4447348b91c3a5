import { ServeError } from './errors.js';

/**
 * Model errors that say the request itself was wrong, by the runtime's stable `code`: the HTTP
 * status, the OpenAI `code` and the request field (`param`) the client should fix. Anything not
 * listed is the server's failure (500).
 */
const CLIENT_ERRORS: Record<string, { status: number; code: string; param: string | null }> = {
  // Image intake (runtime/images): undecodable, corrupt, too large or unsupported images.
  IMAGE_INVALID_INPUT: { status: 400, code: 'invalid_image', param: 'messages' },
  IMAGE_NOT_FOUND: { status: 400, code: 'invalid_image', param: 'messages' },
  IMAGE_UNSUPPORTED_FORMAT: { status: 400, code: 'invalid_image', param: 'messages' },
  IMAGE_CORRUPT: { status: 400, code: 'invalid_image', param: 'messages' },
  IMAGE_TOO_MANY_BYTES: { status: 400, code: 'invalid_image', param: 'messages' },
  IMAGE_TOO_MANY_PIXELS: { status: 400, code: 'invalid_image', param: 'messages' },
  IMAGE_PROMPT_MISMATCH: { status: 400, code: 'invalid_image', param: 'messages' },
  IMAGE_FETCH_FAILED: { status: 400, code: 'invalid_image_url', param: 'messages' },
  IMAGE_FETCH_TIMEOUT: { status: 400, code: 'invalid_image_url', param: 'messages' },
  // Chat format (runtime/chat): messages or tools that cannot be rendered into a prompt.
  CHAT_BAD_MESSAGE: { status: 400, code: 'invalid_request', param: 'messages' },
  CHAT_TOOLS_NEED_USER_MESSAGE: { status: 400, code: 'invalid_request', param: 'messages' },
  CHAT_BAD_TOOL_CALL: { status: 400, code: 'invalid_request', param: 'messages' },
  CHAT_BAD_TOOL: { status: 400, code: 'invalid_request', param: 'tools' },
  CHAT_BAD_DATE: { status: 400, code: 'invalid_request', param: null },
  // Tokenizer: prompt text it cannot encode (images for a model without an image token, ...).
  TOKENIZER_BAD_SEGMENT: { status: 400, code: 'invalid_request', param: null },
  TOKENIZER_UNKNOWN_TOKEN: { status: 400, code: 'invalid_request', param: null },
  TOKENIZER_NO_IMAGE_TOKEN: { status: 400, code: 'images_unsupported', param: 'messages' },
  // Generation: sampling settings and request shape.
  INVALID_SAMPLING: { status: 400, code: 'invalid_request', param: null },
  INVALID_GENERATION_REQUEST: { status: 400, code: 'invalid_request', param: null },
  INVALID_MODEL_REQUEST: { status: 400, code: 'invalid_request', param: null },
  ONNX_BAD_INPUT: { status: 400, code: 'invalid_request', param: null },
  'served.bad_request': { status: 400, code: 'invalid_request', param: null },
  // The prompt leaves no room for a reply.
  CONTEXT_EXCEEDED: { status: 400, code: 'context_length_exceeded', param: 'messages' },
  ONNX_CONTEXT_EXCEEDED: { status: 400, code: 'context_length_exceeded', param: 'messages' },
  QUEUE_FULL: { status: 429, code: 'queue_full', param: null },
  // Constrained decoding (runtime/constraints): a schema outside the supported subset, a tool
  // choice that cannot be honoured.
  CONSTRAINT_UNSUPPORTED_SCHEMA: { status: 400, code: 'invalid_request', param: 'response_format' },
  CONSTRAINT_INVALID: { status: 400, code: 'invalid_request', param: null },
  CONSTRAINT_UNSUPPORTED_TOKENIZER: { status: 400, code: 'response_format_unsupported', param: 'response_format' },
};

/** Codes of errors that are the client's to fix (status 4xx), for documentation and tests. */
export const CLIENT_ERROR_CODES: readonly string[] = Object.keys(CLIENT_ERRORS);

export interface ModelErrorContext {
  /** Chat requests say "messages", completions "prompt". */
  chat: boolean;
  retryAfterSeconds?: number;
}

/** Any error from the model or the request conversion → the ServeError the client gets. */
export function toServeError(err: unknown, context: ModelErrorContext = { chat: true }): ServeError {
  if (err instanceof ServeError) return err;
  const runtimeCode = err && typeof err === 'object' && 'code' in err ? String((err as { code: unknown }).code) : '';
  const message = redactPaths(err instanceof Error ? err.message : String(err));
  const upstream = upstreamRefusal(err);
  if (upstream) return upstream;
  const known = CLIENT_ERRORS[runtimeCode];
  if (!known) return new ServeError(500, runtimeCode || 'model_error', `model failed: ${message}`);
  let param = known.param === 'messages' && !context.chat ? 'prompt' : known.param;
  // A forced tool's parameters that the constraint cannot take: the field to fix is "tools".
  if (runtimeCode === 'CONSTRAINT_UNSUPPORTED_SCHEMA' && message.startsWith('tools[')) param = 'tools';
  if (known.code === 'context_length_exceeded') return new ServeError(known.status, known.code, contextMessage(err, message, context.chat), {}, param);
  const headers: Record<string, string> = known.status === 429 ? { 'retry-after': String(context.retryAfterSeconds ?? 1) } : {};
  // The runtime's own code stays in the message: it says exactly which check failed.
  return new ServeError(known.status, known.code, `${message} (${runtimeCode})`, headers, param);
}

/**
 * `serve --base-url`: the engine behind refused the request as the client's fault (4xx, or a 500
 * whose body says the input is unsupported or invalid: ServedHttpError.inputRejected). The client
 * gets a 4xx with the engine's own explanation, never the engine's URL.
 */
function upstreamRefusal(err: unknown): ServeError | undefined {
  const e = err as { code?: unknown; status?: unknown; bodyExcerpt?: unknown; inputRejected?: unknown } | null;
  if (!e || typeof e.code !== 'string' || !e.code.startsWith('served.http_') || typeof e.status !== 'number') return undefined;
  const refusedInput = e.status === 500 && e.inputRejected === true;
  if (!refusedInput && (e.status < 400 || e.status >= 500 || e.status === 401 || e.status === 403)) return undefined;
  const detail = typeof e.bodyExcerpt === 'string' ? upstreamMessage(e.bodyExcerpt) : '';
  const status = e.status === 429 ? 429 : 400;
  const code = e.status === 429 ? 'rate_limit_exceeded' : 'invalid_request';
  return new ServeError(status, code, redactPaths(`The model engine refused the request (HTTP ${e.status})${detail ? `: ${detail}` : '.'}`));
}

/** The engine's error message when its body is OpenAI's error shape, else the start of the body. */
function upstreamMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const message = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? parsed.message);
    if (typeof message === 'string') return message.slice(0, 300);
  } catch {
    // not JSON: fall through
  }
  return body.slice(0, 300);
}

/** OpenAI's wording, when the error says how long the prompt was and how much the model holds. */
function contextMessage(err: unknown, fallback: string, chat: boolean): string {
  const { promptTokens, contextLength } = (err ?? {}) as { promptTokens?: unknown; contextLength?: unknown };
  if (typeof promptTokens !== 'number' || typeof contextLength !== 'number') return fallback;
  const what = chat ? 'messages' : 'prompt';
  return (
    `This model's maximum context length is ${contextLength} tokens. However, your ${what} resulted in ${promptTokens} tokens, ` +
    `which leaves no room for a reply. Please reduce the length of the ${what} to fewer than ${contextLength} tokens.`
  );
}

/**
 * Error messages reach clients: absolute file paths (model directory, temp files) are replaced
 * by "<path>". URLs and JSON pointers are left alone: their slashes follow "scheme:", "#" or another slash.
 */
export function redactPaths(message: string): string {
  return message.replace(/(?<![\w:/.~#-])\/(?:[\w.@+~-]+\/)+[\w.@+~-]*/g, '<path>').replace(/\b[A-Za-z]:\\[^\s'"`]+/g, '<path>');
}
