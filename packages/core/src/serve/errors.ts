import { LookoutError } from '@lookout/tools';

/**
 * An error `lookout serve` answers with an OpenAI-style error body and the given HTTP status. Its
 * `code` is the body's `code` (`invalid_request`, `invalid_image`, `context_length_exceeded`,
 * `overloaded`, ...; a model failure the server does not map keeps the runtime's code), so it is an
 * open string rather than a closed union.
 */
export class ServeError extends LookoutError {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** The request field at fault ("messages", "max_tokens", ...), or null when no one field is. */
  readonly param: string | null;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}, param: string | null = null) {
    super(code, message);
    this.status = status;
    this.headers = headers;
    this.param = param;
  }

  /** OpenAI's error envelope, which every OpenAI client knows how to show. */
  toBody(): { error: { message: string; type: string; param: string | null; code: string } } {
    const type =
      this.status === 401
        ? 'authentication_error'
        : this.status === 403
          ? 'permission_error'
          : this.status === 429
            ? 'rate_limit_error'
            : this.status >= 500
              ? 'server_error'
              : 'invalid_request_error';
    return { error: { message: this.message, type, param: this.param, code: this.code } };
  }
}

/** LookoutServer / limiter options out of range. */
export class ServeConfigError extends LookoutError<'serve.config'> {
  constructor(message: string) {
    super('serve.config', message);
  }
}
