import { LookoutError } from '@lookout/tools/errors';

/**
 * Typed errors of the image intake. Every error carries a stable `code` that callers (guards,
 * the agent loop, HTTP front ends) can switch on; the message names what was wrong and what is
 * accepted.
 */
export type ImageErrorCode =
  | 'IMAGE_INVALID_INPUT'
  | 'IMAGE_NOT_FOUND'
  | 'IMAGE_TOO_MANY_BYTES'
  | 'IMAGE_TOO_MANY_PIXELS'
  | 'IMAGE_UNSUPPORTED_FORMAT'
  | 'IMAGE_CORRUPT'
  | 'IMAGE_FETCH_FAILED'
  | 'IMAGE_FETCH_TIMEOUT'
  | 'IMAGE_ABORTED'
  | 'IMAGE_CONFIG_INVALID'
  | 'IMAGE_PROMPT_MISMATCH'
  | 'IMAGE_WORKER_FAILED';

export class ImageError extends LookoutError<ImageErrorCode> {}

/** The input is not something the intake can read (wrong type, malformed data: URL, missing file). */
export class ImageInputError extends ImageError {
  constructor(code: 'IMAGE_INVALID_INPUT' | 'IMAGE_NOT_FOUND', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A size limit was exceeded; raised before the image is decoded or fully downloaded. */
export class ImageLimitError extends ImageError {
  readonly limit: number;
  readonly actual: number;
  constructor(code: 'IMAGE_TOO_MANY_BYTES' | 'IMAGE_TOO_MANY_PIXELS', message: string, limit: number, actual: number) {
    super(code, message);
    this.limit = limit;
    this.actual = actual;
  }
}

/** The bytes are not a supported image, or are a supported format that fails to decode. */
export class ImageFormatError extends ImageError {
  constructor(code: 'IMAGE_UNSUPPORTED_FORMAT' | 'IMAGE_CORRUPT', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Fetching an http(s) image failed, timed out or was aborted by the caller. */
export class ImageFetchError extends ImageError {
  constructor(code: 'IMAGE_FETCH_FAILED' | 'IMAGE_FETCH_TIMEOUT' | 'IMAGE_ABORTED', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** preprocessor_config.json asks for something this processor does not implement. */
export class ImageConfigError extends ImageError {
  constructor(message: string) {
    super('IMAGE_CONFIG_INVALID', message);
  }
}

/** The prompt's <|image|> tokens do not match the images given with it. */
export class VisionPromptError extends ImageError {
  constructor(message: string) {
    super('IMAGE_PROMPT_MISMATCH', message);
  }
}

/** The image worker thread died or was closed while a request was pending. */
export class ImageWorkerError extends ImageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('IMAGE_WORKER_FAILED', message, options);
  }
}
