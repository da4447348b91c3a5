import { LookoutError } from '@lookout/tools/errors';
import { isInputRejection } from './retry.js';

/**
 * Typed errors of served backends. Every class carries a stable `code` so callers can branch
 * without parsing messages.
 */
export class ServedModelError extends LookoutError {}

/** The server answered with a non-2xx status. `bodyExcerpt` holds the first bytes of its body. */
export class ServedHttpError extends ServedModelError {
  readonly status: number;
  readonly bodyExcerpt: string;
  readonly url: string;
  /** Whether the request was retried until the retry budget ran out. */
  readonly retried: number;
  /** A 500 whose body says the engine refused the input (isInputRejection): not retried, the same request fails again. */
  readonly inputRejected: boolean;
  constructor(status: number, url: string, bodyExcerpt: string, retried = 0) {
    super(
      `served.http_${status}`,
      `${url} answered HTTP ${status}${retried ? ` after ${retried} retr${retried === 1 ? 'y' : 'ies'}` : ''}: ${bodyExcerpt || '(empty body)'}`,
    );
    this.status = status;
    this.url = url;
    this.bodyExcerpt = bodyExcerpt;
    this.retried = retried;
    this.inputRejected = isInputRejection(status, bodyExcerpt);
  }
}

/** No response headers within `timeoutMs`, or no stream data within `idleTimeoutMs`. */
export class ServedTimeoutError extends ServedModelError {
  readonly phase: 'response' | 'stream';
  readonly timeoutMs: number;
  constructor(phase: 'response' | 'stream', timeoutMs: number, url: string) {
    super(
      'served.timeout',
      phase === 'response'
        ? `${url} sent no response within ${timeoutMs} ms (raise timeoutMs to wait longer)`
        : `${url} sent no stream data for ${timeoutMs} ms (raise idleTimeoutMs to wait longer)`,
    );
    this.phase = phase;
    this.timeoutMs = timeoutMs;
  }
}

/** The connection failed (refused, reset, DNS) and retries did not help. */
export class ServedConnectionError extends ServedModelError {
  constructor(url: string, cause: unknown, retried: number) {
    const reason = describeCause(cause);
    super('served.connection', `could not reach ${url}${retried ? ` after ${retried} retries` : ''}: ${reason}`, { cause });
  }
}

/** The caller's AbortSignal fired. */
export class ServedAbortError extends ServedModelError {
  constructor(reason?: unknown) {
    super('served.aborted', `request aborted${reason instanceof Error ? `: ${reason.message}` : typeof reason === 'string' ? `: ${reason}` : ''}`);
  }
}

/** The server answered 2xx but the body is not what the OpenAI chat API specifies. */
export class ServedProtocolError extends ServedModelError {
  constructor(message: string) {
    super('served.protocol', message);
  }
}

/** The request cannot be expressed for this backend (e.g. images inside a raw prompt). */
export class ServedRequestError extends ServedModelError {
  constructor(message: string) {
    super('served.bad_request', message);
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as { cause?: unknown }).cause;
    const code = inner && typeof inner === 'object' && 'code' in inner ? String((inner as { code: unknown }).code) : undefined;
    return code ? `${cause.message} (${code})` : cause.message;
  }
  return String(cause);
}
