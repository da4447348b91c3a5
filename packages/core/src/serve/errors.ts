/** An error `lookout serve` answers with an OpenAI-style error body and the given HTTP status. */
export class ServeError extends Error {
  readonly code: string;
  readonly status: number;
  readonly headers: Record<string, string>;
  /** The request field at fault ("messages", "max_tokens", ...), or null when no one field is. */
  readonly param: string | null;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}, param: string | null = null) {
    super(message);
    this.name = 'ServeError';
    this.status = status;
    this.code = code;
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
export class ServeConfigError extends Error {
  readonly code = 'serve.config';
  constructor(message: string) {
    super(message);
    this.name = 'ServeConfigError';
  }
}
