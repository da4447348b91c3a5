import { ImageFormatError } from './errors.js';

/** The encoded formats the intake accepts. */
export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif';

export const ACCEPTED_FORMATS: readonly ImageFormat[] = ['png', 'jpeg', 'webp', 'gif'];

function startsWith(bytes: Uint8Array, sig: number[], at = 0): boolean {
  if (bytes.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (bytes[at + i] !== sig[i]) return false;
  return true;
}

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** Identifies the format from its magic bytes, or undefined when it is none of ACCEPTED_FORMATS. */
export function detectImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'webp';
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'gif';
  return undefined;
}

/** detectImageFormat that throws a typed error naming the accepted formats. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat {
  const format = detectImageFormat(bytes);
  if (!format) {
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new ImageFormatError(
      'IMAGE_UNSUPPORTED_FORMAT',
      `unsupported image format (first bytes: ${head || 'none'}); accepted: ${ACCEPTED_FORMATS.join(', ')}`,
    );
  }
  return format;
}

/**
 * The colour type in a PNG's IHDR (0 gray, 2 truecolor, 3 palette, 4 gray+alpha, 6 RGBA), or
 * undefined when the bytes do not start with a PNG signature and IHDR chunk.
 */
export function pngColorType(bytes: Uint8Array): number | undefined {
  if (detectImageFormat(bytes) !== 'png' || bytes.length < 26) return undefined;
  const isIhdr = bytes[12] === 0x49 && bytes[13] === 0x48 && bytes[14] === 0x44 && bytes[15] === 0x52;
  return isIhdr ? bytes[25] : undefined;
}
