/** An error `lookout serve` answers with an OpenAI-style error body and the given HTTP status. */
export class ServeError extends Error {
  readonly code: string;
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ServeError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }

  /** OpenAI's error envelope, which every OpenAI client knows how to show. */
  toBody(): { error: { message: string; type: string; code: string } } {
    const type = this.status === 401 ? 'authentication_error' : this.status === 429 ? 'rate_limit_error' : this.status >= 500 ? 'server_error' : 'invalid_request_error';
    return { error: { message: this.message, type, code: this.code } };
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
