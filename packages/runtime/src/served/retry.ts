import { setTimeout as delay } from 'node:timers/promises';
/** Retry policy for served engines: which failures to retry and how long to wait. */
export interface RetryPolicy {
  /** Retries after the first attempt (0 = never retry). */
  maxRetries: number;
  /** First backoff step; doubles per attempt, with jitter. */
  baseDelayMs: number;
  /** Upper bound for any single wait, including a server's Retry-After. */
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxRetries: 2, baseDelayMs: 500, maxDelayMs: 20_000 };

/** 408, 409 (lock contention), 429 and the 5xx codes a busy or restarting engine gives. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

/**
 * Engines that answer some input they cannot take with a 500 instead of a 400 (llama-server:
 * `{"error":{"code":500,"type":"server_error","message":"image input is not supported ..."}}`;
 * vLLM: a 500 whose body names `BadRequestError` or says the input is invalid; Ollama: "this model
 * is missing data required for image input"). Such a 500 comes back the same however often the
 * request is sent: it is not retried, and `lookout serve --base-url` answers it as a 400.
 */
export function isInputRejection(status: number, body: string): boolean {
  if (status !== 500) return false;
  return INPUT_REJECTED.test(body) || declaresClientError(body);
}

const INPUT_REJECTED = /\b(?:unsupported|not supported|invalid|bad ?request(?:error)?|failed to parse|parse error|missing data required)\b/i;

/** The body's own error code or type is a client error (4xx, invalid_request_error, BadRequestError). */
function declaresClientError(body: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return false;
  }
  if (!parsed || typeof parsed !== 'object') return false;
  const outer = parsed as { error?: unknown };
  const error = (outer.error && typeof outer.error === 'object' ? outer.error : parsed) as { code?: unknown; type?: unknown };
  const code = typeof error.code === 'string' && /^\d+$/.test(error.code) ? Number(error.code) : error.code;
  return (typeof code === 'number' && code >= 400 && code < 500) || error.type === 'invalid_request_error' || error.type === 'BadRequestError';
}

/** Parses Retry-After (delta-seconds or HTTP-date) into milliseconds; undefined when absent or invalid. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Exponential backoff with "equal jitter": half fixed, half random, so retries spread out. */
export function backoffDelay(attempt: number, policy: RetryPolicy, retryAfterMs?: number, random = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelayMs);
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(exp / 2 + (random() * exp) / 2);
}

/** Resolves after `ms` (node's abortable timer), or rejects with the signal's reason as soon as it aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw error;
  }
}
