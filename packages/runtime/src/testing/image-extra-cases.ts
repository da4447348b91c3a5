// Deterministic images beyond the shipped reference set (gray, exact 560, very wide/tall, noise
// downscales, slivers, RGBA/LA/palette transparency, JPEG/GIF/WebP). hf-extra-cases.json holds
// what HF's MllamaImageProcessor (slow, numpy + Pillow) produced for exactly these encoded files:
// tile count, aspect-ratio id and the SHA-256 of the float32 pixel values.
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { encodePngRaw, gradientPixels, withColorKey } from './image-fixtures.js';

/** Uniform bytes from a 32-bit LCG: reproducible without depending on any library's RNG. */
export function noisePixels(width: number, height: number, channels: number, seed: number): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** 1 and 2 channels are written as gray (+alpha) files: libvips would otherwise save them as sRGB. */
const raw = (px: Uint8Array, width: number, height: number, channels: 1 | 2 | 3 | 4) => {
  const img = sharp(Buffer.from(px), { raw: { width, height, channels } });
  return channels <= 2 ? img.toColourspace('b-w') : img;
};

export interface ExtraCase {
  name: string;
  /** File extension, for writing the case out to a reference directory. */
  ext: 'png' | 'jpg' | 'gif' | 'webp';
  make(): Promise<Buffer>;
  /** processImage options the HF result corresponds to. */
  options?: { exifOrientation?: boolean };
}

function alphaMix(width: number, height: number, seed: number): Uint8Array {
  const rgb = noisePixels(width, height, 3, seed);
  const alpha = noisePixels(width, height, 1, seed + 1);
  const out = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    out.set([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], i % 5 === 0 ? 0 : i % 7 === 0 ? 255 : alpha[i]], i * 4);
  }
  return out;
}

function grayAlpha(width: number, height: number): Uint8Array {
  const g = gradientPixels(width, height, 1, 3);
  const a = noisePixels(width, height, 1, 77);
  const out = new Uint8Array(width * height * 2);
  for (let i = 0; i < width * height; i++) out.set([g[i], a[i]], i * 2);
  return out;
}

/** Gradient where every third pixel of every third row is the colour key (10, 20, 30) / 10. */
function keyed(width: number, height: number, channels: 1 | 3): Uint8Array {
  const px = gradientPixels(width, height, channels, 8);
  for (let y = 0; y < height; y += 3) for (let x = 0; x < width; x += 3) px.set([10, 20, 30].slice(0, channels), (y * width + x) * channels);
  return px;
}

/** 16-bit truecolor (3) or RGBA (4) noise, big-endian samples. */
function png16(width: number, height: number, channels: 3 | 4, seed: number): Buffer {
  const bytes = noisePixels(width * 2, height, channels, seed);
  const rows = Array.from({ length: height }, (_, y) => bytes.subarray(y * width * 2 * channels, (y + 1) * width * 2 * channels));
  return encodePngRaw(width, height, 16, channels === 3 ? 2 : 6, rows);
}

/** 1-bit gray checkerboard-ish pattern, 8 pixels per byte, MSB first. */
function bilevel(width: number, height: number): Buffer {
  const rowBytes = Math.ceil(width / 8);
  const rows = Array.from({ length: height }, (_, y) => {
    const row = new Uint8Array(rowBytes);
    for (let x = 0; x < width; x++) if ((x * 7 + y * 3) % 5 < 2) row[x >> 3] |= 0x80 >> (x & 7);
    return row;
  });
  return encodePngRaw(width, height, 1, 0, rows);
}

/** An animated GIF of two different frames; only the first is the image. */
function twoFrameGif(width: number, height: number): Promise<Buffer> {
  const frames = Buffer.concat([Buffer.from(gradientPixels(width, height, 3, 3)), Buffer.from(gradientPixels(width, height, 3, 9))]);
  return sharp(frames, { raw: { width, height: height * 2, channels: 3, pageHeight: height } }).gif().toBuffer();
}

export const EXTRA_CASES: ExtraCase[] = [
  { name: 'gray_400x1200', ext: 'png', make: () => raw(gradientPixels(400, 1200, 1, 2), 400, 1200, 1).png().toBuffer() },
  { name: 'gray_noise_333x777', ext: 'png', make: () => raw(noisePixels(333, 777, 1, 11), 333, 777, 1).png().toBuffer() },
  { name: 'rgb_560x560', ext: 'png', make: () => raw(noisePixels(560, 560, 3, 12), 560, 560, 3).png().toBuffer() },
  { name: 'rgb_wide_4000x100', ext: 'png', make: () => raw(gradientPixels(4000, 100, 3, 4), 4000, 100, 3).png().toBuffer() },
  { name: 'rgb_tall_100x4000', ext: 'png', make: () => raw(noisePixels(100, 4000, 3, 13), 100, 4000, 3).png().toBuffer() },
  { name: 'rgb_noise_1500x1000', ext: 'png', make: () => raw(noisePixels(1500, 1000, 3, 14), 1500, 1000, 3).png().toBuffer() },
  { name: 'rgb_noise_2000x3001', ext: 'png', make: () => raw(noisePixels(2000, 3001, 3, 15), 2000, 3001, 3).png().toBuffer() },
  { name: 'rgb_small_37x23', ext: 'png', make: () => raw(noisePixels(37, 23, 3, 16), 37, 23, 3).png().toBuffer() },
  { name: 'rgb_sliver_3000x7', ext: 'png', make: () => raw(noisePixels(3000, 7, 3, 17), 3000, 7, 3).png().toBuffer() },
  { name: 'rgb_561x1121', ext: 'png', make: () => raw(noisePixels(561, 1121, 3, 18), 561, 1121, 3).png().toBuffer() },
  { name: 'rgba_noise_47x61', ext: 'png', make: () => raw(alphaMix(47, 61, 19), 47, 61, 4).png().toBuffer() },
  { name: 'la_200x300', ext: 'png', make: () => raw(grayAlpha(200, 300), 200, 300, 2).png().toBuffer() },
  { name: 'palette_trns_120x90', ext: 'png', make: () => raw(alphaMix(120, 90, 20), 120, 90, 4).png({ palette: true, colours: 64, dither: 0 }).toBuffer() },
  { name: 'rgb_jpeg_900x700', ext: 'jpg', make: () => raw(gradientPixels(900, 700, 3, 5), 900, 700, 3).jpeg({ quality: 90 }).toBuffer() },
  { name: 'gif_130x70', ext: 'gif', make: () => raw(gradientPixels(130, 70, 3, 6), 130, 70, 3).gif().toBuffer() },
  { name: 'rgb_color_key_60x40', ext: 'png', make: async () => withColorKey(await raw(keyed(60, 40, 3), 60, 40, 3).png().toBuffer(), [10, 20, 30]) },
  { name: 'gray_color_key_60x40', ext: 'png', make: async () => withColorKey(await raw(keyed(60, 40, 1), 60, 40, 1).png().toBuffer(), [10]) },
  { name: 'rgb16_60x40', ext: 'png', make: async () => png16(60, 40, 3, 31) },
  { name: 'rgba16_60x40', ext: 'png', make: async () => png16(60, 40, 4, 32) },
  { name: 'bilevel_61x40', ext: 'png', make: async () => bilevel(61, 40) },
  { name: 'cmyk_jpeg_90x70', ext: 'jpg', make: () => raw(gradientPixels(90, 70, 3, 9), 90, 70, 3).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer() },
  { name: 'gray_jpeg_300x200', ext: 'jpg', make: () => raw(gradientPixels(300, 200, 1, 4), 300, 200, 1).jpeg({ quality: 85 }).toBuffer() },
  { name: 'progressive_jpeg_300x200', ext: 'jpg', make: () => raw(gradientPixels(300, 200, 3, 3), 300, 200, 3).jpeg({ quality: 75, progressive: true }).toBuffer() },
  { name: 'jpeg444_300x200', ext: 'jpg', make: () => raw(gradientPixels(300, 200, 3, 3), 300, 200, 3).jpeg({ quality: 75, chromaSubsampling: '4:4:4' }).toBuffer() },
  { name: 'webp_lossy_300x200', ext: 'webp', make: () => raw(gradientPixels(300, 200, 3, 3), 300, 200, 3).webp({ quality: 80 }).toBuffer() },
  { name: 'webp_lossy_alpha_120x80', ext: 'webp', make: () => raw(noisePixels(120, 80, 4, 5), 120, 80, 4).webp({ quality: 80 }).toBuffer() },
  { name: 'gif_two_frames_300x200', ext: 'gif', make: () => twoFrameGif(300, 200) },
  {
    name: 'exif_orientation_6_200x100',
    ext: 'jpg',
    // HF ignores EXIF orientation; with exifOrientation: false the processor does too.
    options: { exifOrientation: false },
    make: () => raw(gradientPixels(200, 100, 3, 3), 200, 100, 3).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer(),
  },
  { name: 'p3_profile_png_200x100', ext: 'png', make: () => raw(gradientPixels(200, 100, 3, 3), 200, 100, 3).withIccProfile('p3', { attach: true }).png().toBuffer() },
  { name: 'p3_profile_jpeg_200x100', ext: 'jpg', make: () => raw(gradientPixels(200, 100, 3, 3), 200, 100, 3).withIccProfile('p3', { attach: true }).jpeg({ quality: 90 }).toBuffer() },
  { name: 'webp_lossless_640x480', ext: 'webp', make: () => raw(noisePixels(640, 480, 3, 21), 640, 480, 3).webp({ lossless: true }).toBuffer() },
];

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Hash of float32 pixel values as little-endian bytes (what numpy's tobytes() gives on x86/ARM). */
export const pixelHash = (values: Float32Array) => sha256(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
