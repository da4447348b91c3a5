/**
 * HF's convert_to_rgb as Pillow runs it: any non-RGB image is converted to RGBA (gray is
 * replicated, missing alpha is 255), alpha-composited over opaque white with Pillow's integer
 * arithmetic (AlphaComposite.c, 7 extra bits of precision, rounded divisions by 255), then the
 * alpha channel is dropped. Opaque pixels therefore pass through unchanged.
 */

const PRECISION_BITS = 7;

/** Pillow's ((a >> 8) + a) >> 8, a rounded a/255 once 0x80 has been added. */
function shiftForDiv255(a: number): number {
  return ((a >>> 8) + a) >>> 8;
}

/** One channel value of `value` with alpha `alpha` composited over opaque white. */
export function compositeOverWhite(value: number, alpha: number): number {
  if (alpha === 0) return 255;
  // With an opaque white background Pillow's general formula reduces to these exact integers:
  // outa255 = 255*255, coef1 = alpha*2^7, coef2 = (255-alpha)*2^7.
  const coef1 = alpha << PRECISION_BITS;
  const coef2 = (255 << PRECISION_BITS) - coef1;
  const tmp = value * coef1 + 255 * coef2;
  return shiftForDiv255(tmp + (0x80 << PRECISION_BITS)) >>> PRECISION_BITS;
}

/**
 * Interleaved 1..4 channel uint8 pixels (gray, gray+alpha, RGB, RGBA) to interleaved RGB.
 * Returns the input itself when it is already 3-channel RGB.
 */
export function toRgb(pixels: Uint8Array, pixelCount: number, channels: number): Uint8Array {
  if (pixels.length !== pixelCount * channels) {
    throw new RangeError(`toRgb: buffer has ${pixels.length} bytes, expected ${pixelCount} pixels x ${channels} channels`);
  }
  if (channels === 3) return pixels;
  const out = new Uint8Array(pixelCount * 3);
  // Composite through a 256x256 lookup table (64 KiB, built once per process).
  const hasAlpha = channels === 2 || channels === 4;
  const table = hasAlpha ? compositeTable() : undefined;
  for (let i = 0, o = 0, p = 0; i < pixelCount; i++, o += 3, p += channels) {
    let r: number, g: number, b: number;
    if (channels <= 2) r = g = b = pixels[p];
    else if (channels === 4) {
      r = pixels[p];
      g = pixels[p + 1];
      b = pixels[p + 2];
    } else throw new RangeError(`toRgb: ${channels} channels are not supported; accepted: 1 (gray), 2 (gray+alpha), 3 (RGB), 4 (RGBA)`);
    if (table) {
      const row = pixels[p + channels - 1] << 8;
      r = table[row | r];
      g = table[row | g];
      b = table[row | b];
    }
    out[o] = r;
    out[o + 1] = g;
    out[o + 2] = b;
  }
  return out;
}

let cachedTable: Uint8Array | undefined;
function compositeTable(): Uint8Array {
  if (!cachedTable) {
    const t = new Uint8Array(256 * 256);
    for (let a = 0; a < 256; a++) for (let v = 0; v < 256; v++) t[(a << 8) | v] = compositeOverWhite(v, a);
    cachedTable = t;
  }
  return cachedTable;
}

/** Pillow's rounded a*b/255 (MULDIV255). */
function mulDiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >>> 8) + t) >>> 8;
}

/**
 * Interleaved CMYK to RGB the way Pillow converts a CMYK image (cmyk2rgb, no colour
 * management): each channel is (255-k) - c*(255-k)/255, rounded as Pillow rounds.
 */
export function cmykToRgb(cmyk: Uint8Array, pixelCount: number): Uint8Array {
  if (cmyk.length !== pixelCount * 4) throw new RangeError(`cmykToRgb: buffer has ${cmyk.length} bytes, expected ${pixelCount} pixels x 4 channels`);
  const out = new Uint8Array(pixelCount * 3);
  for (let i = 0, o = 0, p = 0; i < pixelCount; i++, o += 3, p += 4) {
    const nk = 255 - cmyk[p + 3];
    out[o] = nk - mulDiv255(cmyk[p], nk);
    out[o + 1] = nk - mulDiv255(cmyk[p + 1], nk);
    out[o + 2] = nk - mulDiv255(cmyk[p + 2], nk);
  }
  return out;
}
