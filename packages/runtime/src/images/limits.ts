/** Limits enforced before an image is decoded (pixels) or fully read (bytes). */
export interface ImageLimits {
  /** Largest encoded size accepted, in bytes. Default 20 MiB. */
  maxBytes: number;
  /** Largest width*height accepted, read from the header before decoding. Default 8K UHD (7680*4320). */
  maxPixels: number;
  /** How long an http(s) fetch may take, headers and body, in ms. Default 15 s. */
  timeoutMs: number;
}

export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxBytes: 20 * 1024 * 1024,
  maxPixels: 7680 * 4320,
  timeoutMs: 15_000,
});

export function resolveLimits(partial?: Partial<ImageLimits>): ImageLimits {
  const limits = { ...DEFAULT_IMAGE_LIMITS, ...stripUndefined(partial ?? {}) };
  for (const key of ['maxBytes', 'maxPixels', 'timeoutMs'] as const) {
    const v = limits[key];
    if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) {
      throw new RangeError(`image limit ${key} must be a positive finite number, got ${String(v)}`);
    }
  }
  return limits;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
