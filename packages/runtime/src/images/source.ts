import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ImageInput } from '../model/types.js';
import { ImageFetchError, ImageInputError, ImageLimitError } from './errors.js';
import type { ImageLimits } from './limits.js';

/**
 * Anything an image can be given as: the contract's ImageInput (encoded bytes, a file path, a
 * file:, data: or http(s): URL string) plus an ArrayBuffer or a URL object.
 */
export type ImageSource = ImageInput | ArrayBuffer | URL;

export interface ImageSourceOptions {
  signal?: AbortSignal;
  /** Replaces global fetch for http(s) URLs (a proxy-aware client, a test double). */
  fetch?: typeof fetch;
}

const tooManyBytes = (what: string, actual: number, limit: number, exact = true) =>
  new ImageLimitError(
    'IMAGE_TOO_MANY_BYTES',
    `${what} is ${exact ? '' : 'more than '}${actual} bytes; the limit is ${limit} bytes (maxBytes)`,
    limit,
    actual,
  );

/** Throws IMAGE_ABORTED when the caller's signal has fired (checked between processing steps). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ImageFetchError('IMAGE_ABORTED', 'image loading was aborted by the caller', { cause: signal.reason });
}

/** Reads the encoded bytes of an image, enforcing the byte limit before (or while) reading. */
export async function readImageBytes(input: ImageSource, limits: ImageLimits, options: ImageSourceOptions = {}): Promise<Uint8Array> {
  throwIfAborted(options.signal);
  let bytes: Uint8Array;
  if (input instanceof Uint8Array) bytes = input;
  else if (input instanceof ArrayBuffer) bytes = new Uint8Array(input);
  else if (input instanceof URL) return readUrl(input, limits, options);
  else if (typeof input === 'string') {
    if (/^data:/i.test(input)) bytes = decodeDataUrl(input, limits);
    else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) return readUrl(parseUrl(input), limits, options);
    else bytes = await readImageFile(input, limits);
  } else {
    throw new ImageInputError(
      'IMAGE_INVALID_INPUT',
      `unsupported image input of type ${input === null ? 'null' : typeof input}; accepted: Uint8Array/Buffer, ArrayBuffer, file path, file:, data: or http(s): URL`,
    );
  }
  if (bytes.length > limits.maxBytes) throw tooManyBytes('the image', bytes.length, limits.maxBytes);
  return bytes;
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch (err) {
    throw new ImageInputError('IMAGE_INVALID_INPUT', `image URL ${shown(text)} is not a valid URL`, { cause: err });
  }
}

async function readUrl(url: URL, limits: ImageLimits, options: ImageSourceOptions): Promise<Uint8Array> {
  if (url.protocol === 'file:') return readImageFile(fileURLToPath(url), limits);
  if (url.protocol === 'data:') return decodeDataUrl(url.href, limits);
  if (url.protocol === 'http:' || url.protocol === 'https:') return fetchImage(url, limits, options);
  throw new ImageInputError('IMAGE_INVALID_INPUT', `image URL scheme "${url.protocol}" is not supported; accepted: http:, https:, file:, data:`);
}

/** A caller's string in a message, cut short: it may be a huge base64 blob passed by mistake. */
function shown(text: string): string {
  return text.length > 120 ? `${JSON.stringify(text.slice(0, 120))}... (${text.length} characters)` : JSON.stringify(text);
}

async function readImageFile(file: string, limits: ImageLimits): Promise<Uint8Array> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new ImageInputError('IMAGE_INVALID_INPUT', `image path ${shown(file)} is not a regular file`);
    size = info.size;
  } catch (err) {
    if (err instanceof ImageInputError) throw err;
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ImageInputError(
      'IMAGE_NOT_FOUND',
      `cannot read image file ${shown(file)} (${reason}); a string image must be a file path, a file:, data: or http(s): URL`,
      { cause: err },
    );
  }
  // Checked on the file size so an oversized file is never read into memory.
  if (size > limits.maxBytes) throw tooManyBytes(`image file ${shown(file)}`, size, limits.maxBytes);
  return new Uint8Array(await readFile(file));
}

/** data:[<media type>][;base64],<data>; the decoded size is bounded before decoding. */
export function decodeDataUrl(url: string, limits: ImageLimits): Uint8Array {
  const comma = url.indexOf(',');
  if (comma < 0) throw new ImageInputError('IMAGE_INVALID_INPUT', 'data: URL has no "," before its payload; expected data:<media type>;base64,<data>');
  const header = url.slice(5, comma);
  const payload = url.slice(comma + 1);
  const isBase64 = /;base64$/i.test(header);
  const upperBound = isBase64 ? Math.floor((payload.length * 3) / 4) : payload.length;
  if (upperBound > limits.maxBytes) {
    // Base64 may carry a few padding/whitespace characters: only reject when it is surely too large.
    const exact = isBase64 ? Buffer.byteLength(payload, 'base64') : Buffer.byteLength(decodeURIComponentSafe(payload), 'latin1');
    if (exact > limits.maxBytes) throw tooManyBytes('the data: URL payload', exact, limits.maxBytes);
  }
  if (isBase64) {
    if (!/^[A-Za-z0-9+/=_\-\s]*$/.test(payload)) {
      throw new ImageInputError('IMAGE_INVALID_INPUT', 'data: URL payload is not valid base64');
    }
    return new Uint8Array(Buffer.from(payload, 'base64'));
  }
  return new Uint8Array(Buffer.from(decodeURIComponentSafe(payload), 'latin1'));
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch (err) {
    throw new ImageInputError('IMAGE_INVALID_INPUT', 'data: URL payload has invalid percent-encoding', { cause: err });
  }
}

/**
 * GETs an image with a deadline covering headers and body. A Content-Length over the byte
 * limit is refused before the body is read; without one the body is read in chunks and the
 * request is cancelled as soon as the limit is passed.
 */
async function fetchImage(url: URL, limits: ImageLimits, options: ImageSourceOptions): Promise<Uint8Array> {
  const timeout = new AbortController();
  const timer = setTimeout(
    () => timeout.abort(new ImageFetchError('IMAGE_FETCH_TIMEOUT', `fetching ${url.href} took longer than ${limits.timeoutMs} ms (timeoutMs)`)),
    limits.timeoutMs,
  );
  const signal = options.signal ? AbortSignal.any([options.signal, timeout.signal]) : timeout.signal;
  const failure = (err: unknown): ImageFetchError | ImageLimitError => {
    if (err instanceof ImageFetchError || err instanceof ImageLimitError) return err;
    if (options.signal?.aborted) return new ImageFetchError('IMAGE_ABORTED', `fetching ${url.href} was aborted by the caller`, { cause: err });
    if (timeout.signal.aborted) return timeout.signal.reason as ImageFetchError;
    return new ImageFetchError('IMAGE_FETCH_FAILED', `fetching ${url.href} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  };
  try {
    const doFetch = options.fetch ?? fetch;
    const response = await doFetch(url, { signal, redirect: 'follow' }).catch((err: unknown) => {
      throw failure(err);
    });
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new ImageFetchError('IMAGE_FETCH_FAILED', `fetching ${url.href} failed: HTTP ${response.status} ${response.statusText}`.trim());
    }
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > limits.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw tooManyBytes(`the response from ${url.href}`, declared, limits.maxBytes);
    }
    if (!response.body) return new Uint8Array(0);
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > limits.maxBytes) {
          await reader.cancel().catch(() => undefined);
          throw tooManyBytes(`the response from ${url.href}`, limits.maxBytes, limits.maxBytes, false);
        }
        chunks.push(value);
      }
    } catch (err) {
      throw failure(err);
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}
