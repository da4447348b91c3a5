import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage, readImageHeader } from './decode.js';
import { ImageError, ImageFormatError, ImageLimitError } from './errors.js';
import { resolveLimits } from './limits.js';
import { detectImageFormat } from './sniff.js';
import { encodePng, encodePngRaw, gradientPixels, pngBombHeader } from '../testing/image-fixtures.js';

const limits = resolveLimits();

async function rejection(p: Promise<unknown>): Promise<ImageError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ImageError);
    return err as ImageError;
  }
  throw new Error('expected a rejection');
}

describe('format sniffing', () => {
  it('recognises png, jpeg, webp and gif by magic bytes', async () => {
    const base = sharp(Buffer.from(gradientPixels(8, 8, 3)), { raw: { width: 8, height: 8, channels: 3 } });
    expect(detectImageFormat(await base.clone().png().toBuffer())).toBe('png');
    expect(detectImageFormat(await base.clone().jpeg().toBuffer())).toBe('jpeg');
    expect(detectImageFormat(await base.clone().webp().toBuffer())).toBe('webp');
    expect(detectImageFormat(await base.clone().gif().toBuffer())).toBe('gif');
  });

  it('rejects other formats before decoding, naming the accepted ones', async () => {
    const base = sharp(Buffer.from(gradientPixels(8, 8, 3)), { raw: { width: 8, height: 8, channels: 3 } });
    const tiff = await base.clone().tiff().toBuffer();
    const bmp = Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
    for (const bytes of [tiff, bmp, svg, Buffer.alloc(0)]) {
      const err = await rejection(readImageHeader(bytes, limits));
      expect(err).toBeInstanceOf(ImageFormatError);
      expect(err.code).toBe('IMAGE_UNSUPPORTED_FORMAT');
      expect(err.message).toMatch(/accepted: png, jpeg, webp, gif/);
    }
  });
});

describe('decompression bombs and pixel limits', () => {
  it('rejects a header claiming 100000 x 100000 pixels without decoding it', async () => {
    const bomb = pngBombHeader(100_000, 100_000);
    expect(bomb.length).toBeLessThan(100);
    const before = process.memoryUsage().rss;
    const err = await rejection(decodeImage(bomb, limits));
    expect(err).toBeInstanceOf(ImageLimitError);
    expect(err.code).toBe('IMAGE_TOO_MANY_PIXELS');
    expect((err as ImageLimitError).actual).toBe(1e10);
    expect(err.message).toMatch(/100000x100000/);
    // 1e10 RGB pixels would be 30 GB; nothing near that was allocated.
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });

  it('applies a caller-supplied pixel limit to an ordinary image', async () => {
    const png = await encodePng(gradientPixels(300, 200, 3), 300, 200, 3);
    const err = await rejection(decodeImage(png, resolveLimits({ maxPixels: 50_000 })));
    expect(err.code).toBe('IMAGE_TOO_MANY_PIXELS');
    await expect(decodeImage(png, resolveLimits({ maxPixels: 60_000 }))).resolves.toMatchObject({ width: 300, height: 200 });
  });
});

describe('corrupt data', () => {
  it('reports garbage after a valid signature and truncated files as IMAGE_CORRUPT', async () => {
    const png = await encodePng(gradientPixels(300, 200, 3), 300, 200, 3);
    const garbage = Buffer.concat([png.subarray(0, 8), Buffer.alloc(64, 7)]);
    const truncated = png.subarray(0, png.length - 200);
    const jpeg = await sharp(png).jpeg().toBuffer();
    const badJpeg = Buffer.concat([jpeg.subarray(0, 3), Buffer.alloc(200, 0x41)]);
    const truncatedJpeg = jpeg.subarray(0, Math.floor(jpeg.length * 0.6));
    const flipped = Buffer.from(png);
    flipped[100] ^= 0xff; // inside the compressed data
    for (const bytes of [garbage, truncated, badJpeg, truncatedJpeg, flipped]) {
      const err = await rejection(decodeImage(bytes, limits));
      expect(err.code).toBe('IMAGE_CORRUPT');
      expect(err.message).toMatch(/corrupt or truncated/);
    }
  });
});

describe('decoding', () => {
  it('decodes gray PNGs to exact gray values (no colour management)', async () => {
    const gray = gradientPixels(64, 16, 1);
    const out = await decodeImage(await encodePng(gray, 64, 16, 1), limits);
    const { data, channels } = out;
    for (let i = 0; i < 64 * 16; i++) for (let c = 0; c < channels && c < 3; c++) expect(data[i * channels + c]).toBe(gray[i]);
  });

  it('reduces 16-bit gray to its high byte (Pillow would clip every value above 255 to white)', async () => {
    const values = [0x0000, 0x00ff, 0x0100, 0x12ff, 0xfeff, 0xffff];
    const row = new Uint8Array(values.length * 2);
    values.forEach((v, i) => row.set([v >> 8, v & 255], i * 2));
    const out = await decodeImage(encodePngRaw(values.length, 1, 16, 0, [row]), limits);
    const firstChannel = Array.from({ length: values.length }, (_, i) => out.data[i * out.channels]);
    expect(firstChannel).toEqual([0, 0, 1, 0x12, 0xfe, 0xff]);
  });

  it('keeps RGBA values and alpha unpremultiplied', async () => {
    const rgba = gradientPixels(20, 10, 4);
    const out = await decodeImage(await encodePng(rgba, 20, 10, 4), limits);
    expect(out.channels).toBe(4);
    expect(Buffer.from(out.data).equals(Buffer.from(rgba))).toBe(true);
  });

  it('applies the EXIF orientation (6: rotate 90 degrees clockwise)', async () => {
    // 30 wide x 20 high: left half red, right half blue.
    const w = 30;
    const h = 20;
    const px = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.set(x < w / 2 ? [255, 0, 0] : [0, 0, 255], (y * w + x) * 3);
    const jpeg = await sharp(Buffer.from(px), { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const header = await readImageHeader(jpeg, limits);
    expect(header).toMatchObject({ orientation: 6, width: 20, height: 30 });
    const out = await decodeImage(jpeg, limits);
    expect([out.width, out.height]).toEqual([20, 30]);
    // After rotating clockwise the left (red) half is on top and the blue half at the bottom.
    const at = (x: number, y: number) => Array.from(out.data.subarray((y * out.width + x) * out.channels, (y * out.width + x) * out.channels + 3));
    const [r1, , b1] = at(10, 2);
    const [r2, , b2] = at(10, 27);
    expect(r1).toBeGreaterThan(200);
    expect(b1).toBeLessThan(50);
    expect(b2).toBeGreaterThan(200);
    expect(r2).toBeLessThan(50);
    // As HF does it: the stored pixels, unrotated.
    const stored = await decodeImage(jpeg, limits, { exifOrientation: false });
    expect([stored.width, stored.height]).toEqual([30, 20]);
  });

  it('decodes the first frame of a GIF and lossless WebP exactly', async () => {
    const rgb = gradientPixels(16, 12, 3);
    const webp = await sharp(Buffer.from(rgb), { raw: { width: 16, height: 12, channels: 3 } }).webp({ lossless: true }).toBuffer();
    const out = await decodeImage(webp, limits);
    expect([out.width, out.height, out.format]).toEqual([16, 12, 'webp']);
    expect(Buffer.from(out.data).equals(Buffer.from(rgb))).toBe(true);
    const gif = await sharp(Buffer.from(rgb), { raw: { width: 16, height: 12, channels: 3 } }).gif().toBuffer();
    await expect(decodeImage(gif, limits)).resolves.toMatchObject({ width: 16, height: 12, format: 'gif' });
  });
});
