import sharp from 'sharp';
import { ImageFormatError, ImageLimitError } from './errors.js';
import type { ImageLimits } from './limits.js';
import { cmykToRgb } from './rgb.js';
import { pngColorType, sniffImageFormat, type ImageFormat } from './sniff.js';

/** What the header says, read without decoding pixel data. */
export interface ImageHeader {
  format: ImageFormat;
  /** Size after EXIF orientation is applied. */
  width: number;
  height: number;
  /** EXIF orientation 1..8 (1 when absent). */
  orientation: number;
  /** The decoder's colour space for the pixels, e.g. "srgb", "b-w", "cmyk". */
  space?: string;
}

/** Decoded, EXIF-oriented, interleaved uint8 pixels (1..4 channels: gray, gray+alpha, RGB, RGBA). */
export interface DecodedImage extends ImageHeader {
  data: Uint8Array;
  channels: number;
}

/** Decoder settings shared by header read and decode. */
function sharpOptions(limits: ImageLimits): sharp.SharpOptions {
  return {
    // Second line of defence: libvips refuses to decode more pixels than this.
    limitInputPixels: limits.maxPixels,
    failOn: 'error',
    // Pillow ignores embedded ICC profiles; sharp would otherwise transform to sRGB with them.
    ignoreIcc: true,
    // The first frame of an animation, as PIL.Image.open shows it.
    pages: 1,
  };
}

function corrupt(format: ImageFormat, err: unknown): ImageFormatError {
  const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new ImageFormatError('IMAGE_CORRUPT', `the ${format} image is corrupt or truncated and cannot be decoded: ${detail}`, { cause: err });
}

function checkPixels(width: number, height: number, limits: ImageLimits): void {
  const pixels = width * height;
  if (pixels > limits.maxPixels) {
    throw new ImageLimitError(
      'IMAGE_TOO_MANY_PIXELS',
      `the image is ${width}x${height} = ${pixels} pixels; the limit is ${limits.maxPixels} pixels (maxPixels)`,
      limits.maxPixels,
      pixels,
    );
  }
}

/**
 * Sniffs the format from magic bytes and reads the size from the header (sharp's metadata
 * parses headers only), then enforces the pixel limit. A decompression bomb is rejected here,
 * before any pixel buffer is allocated.
 */
export async function readImageHeader(bytes: Uint8Array, limits: ImageLimits): Promise<ImageHeader> {
  const format = sniffImageFormat(bytes);
  let meta: sharp.Metadata;
  try {
    // The limit is checked below with a typed error; libvips' own check would only say "corrupt".
    meta = await sharp(bytes, { ...sharpOptions(limits), limitInputPixels: false }).metadata();
  } catch (err) {
    throw corrupt(format, err);
  }
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (!(width > 0 && height > 0)) throw corrupt(format, new Error('header has no image size'));
  checkPixels(width, height, limits);
  const orientation = meta.orientation ?? 1;
  const swap = orientation >= 5 && orientation <= 8;
  return { format, width: swap ? height : width, height: swap ? width : height, orientation, space: meta.space };
}

const PNG_TRUECOLOR = 2;

function dropAlpha(rgba: Uint8Array, pixelCount: number): Uint8Array {
  const out = new Uint8Array(pixelCount * 3);
  for (let i = 0, o = 0, p = 0; i < pixelCount; i++, o += 3, p += 4) {
    out[o] = rgba[p];
    out[o + 1] = rgba[p + 1];
    out[o + 2] = rgba[p + 2];
  }
  return out;
}

export interface ImageDecodeOptions {
  /**
   * Apply the EXIF orientation (default true), so phone photos are seen upright. HF's
   * processor does not (PIL.Image.open ignores it); false reproduces HF for such files.
   */
  exifOrientation?: boolean;
}

/** readImageHeader, then decodes to raw uint8 pixels, by default with the EXIF orientation applied. */
export async function decodeImage(bytes: Uint8Array, limits: ImageLimits, options: ImageDecodeOptions = {}): Promise<DecodedImage> {
  const upright = options.exifOrientation !== false;
  const header = await readImageHeader(bytes, limits);
  const orient = (img: sharp.Sharp) => (upright ? img.rotate() : img);
  try {
    if (header.space === 'cmyk') {
      // libvips would convert CMYK to sRGB through an ICC profile; Pillow (and so HF) uses a
      // plain formula. Take the CMYK samples as decoded and convert them the Pillow way.
      const { data, info } = await orient(sharp(bytes, sharpOptions(limits)).pipelineColourspace('cmyk'))
        .toColourspace('cmyk')
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
      if (info.channels !== 4) throw new Error(`expected 4 CMYK channels, got ${info.channels}`);
      return { ...header, width: info.width, height: info.height, channels: 3, data: cmykToRgb(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.width * info.height) };
    }
    const { data, info } = await orient(sharp(bytes, sharpOptions(limits))).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const pixels = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (info.channels === 4 && pngColorType(bytes) === PNG_TRUECOLOR) {
      // A truecolor PNG whose tRNS colour key libvips turned into alpha. Pillow opens it as
      // RGB and HF's convert_to_rgb leaves RGB images alone, so the key is ignored there too.
      return { ...header, width: info.width, height: info.height, channels: 3, data: dropAlpha(pixels, info.width * info.height) };
    }
    return { ...header, width: info.width, height: info.height, channels: info.channels, data: pixels };
  } catch (err) {
    if (err instanceof Error && /pixel limit/i.test(err.message)) {
      // The header passed, but libvips counted more (e.g. all frames): report it as a limit all the same.
      throw new ImageLimitError(
        'IMAGE_TOO_MANY_PIXELS',
        `the ${header.format} image (${header.width}x${header.height}) exceeds the decoder's pixel limit of ${limits.maxPixels} (maxPixels)`,
        limits.maxPixels,
        header.width * header.height,
      );
    }
    throw corrupt(header.format, err);
  }
}
