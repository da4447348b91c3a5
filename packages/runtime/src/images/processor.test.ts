import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImageProcessor } from './image-processor.js';
import { MLLAMA_PROCESSOR_CONFIG } from './config.js';
import { VisionPromptError } from './errors.js';
import { prepareVisionInputs, processImage } from './processor.js';
import { encodePng, gradientPixels } from '../testing/image-fixtures.js';
import { channelLookupTables } from './tiles.js';

const S = 560;
const PLANE = S * S;
const luts = channelLookupTables(MLLAMA_PROCESSOR_CONFIG);
const { imageMean: mean, imageStd: std } = MLLAMA_PROCESSOR_CONFIG;

/** Value of channel c at (x, y) of tile t. */
const at = (pv: Float32Array, t: number, c: number, x: number, y: number) => pv[t * 3 * PLANE + c * PLANE + y * S + x];
/** Back to the uint8 level, as the reference README suggests. */
const level = (v: number, c: number) => Math.round((v * std[c] + mean[c]) * 255);

describe('processImage', () => {
  it('passes an exact 560x560 RGB image through: one tile, values are the normalised input', async () => {
    const px = gradientPixels(S, S, 3, 4);
    const out = await processImage(await encodePng(px, S, S, 3));
    expect(out).toMatchObject({ numTiles: 1, aspectRatioId: 1, aspectRatioMask: [1, 0, 0, 0], canvas: { height: 560, width: 560 }, resized: { height: 560, width: 560 } });
    for (let y = 0; y < S; y += 7) for (let x = 0; x < S; x += 5) for (let c = 0; c < 3; c++) expect(at(out.pixelValues, 0, c, x, y)).toBe(luts[c][px[(y * S + x) * 3 + c]]);
  });

  it('converts grayscale to R=G=B, tiles a tall image 3x1 without resizing, pads with -mean/std', async () => {
    const w = 400;
    const h = 1200;
    const gray = gradientPixels(w, h, 1, 2);
    const out = await processImage(await encodePng(gray, w, h, 1));
    expect(out).toMatchObject({ numTiles: 3, aspectRatioId: 7, canvas: { height: 1680, width: 560 }, resized: { height: 1200, width: 400 } });
    for (const [x, y] of [[0, 0], [399, 0], [123, 559], [7, 560], [200, 1199]]) {
      const t = Math.floor(y / S);
      for (let c = 0; c < 3; c++) expect(at(out.pixelValues, t, c, x, y % S)).toBe(luts[c][gray[y * w + x]]);
    }
    for (let c = 0; c < 3; c++) {
      expect(at(out.pixelValues, 0, c, 400, 10)).toBe(luts[c][0]);
      expect(at(out.pixelValues, 2, c, 0, 1200 - 1120)).toBe(luts[c][0]);
      expect(luts[c][0]).toBeCloseTo(-mean[c] / std[c], 6);
    }
  });

  it('splits tiles in row-major order (1x3 grid for 1200x400)', async () => {
    const w = 1200;
    const h = 400;
    const px = gradientPixels(w, h, 3, 9);
    const out = await processImage(await encodePng(px, w, h, 3));
    expect(out).toMatchObject({ numTiles: 3, aspectRatioId: 3, grid: { tilesHigh: 1, tilesWide: 3 } });
    for (const t of [0, 1, 2]) {
      const x = t * S + 3;
      if (x >= w) continue;
      for (let c = 0; c < 3; c++) expect(at(out.pixelValues, t, c, 3, 17)).toBe(luts[c][px[(17 * w + x) * 3 + c]]);
    }
  });

  it('composites transparent pixels over white and leaves opaque RGBA equal to RGB', async () => {
    const rgb = gradientPixels(50, 50, 3, 5);
    const opaque = new Uint8Array(50 * 50 * 4);
    const clear = new Uint8Array(50 * 50 * 4);
    for (let i = 0; i < 2500; i++) {
      opaque.set([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], 255], i * 4);
      clear.set([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], 0], i * 4);
    }
    const fromRgb = await processImage(await encodePng(rgb, 50, 50, 3));
    const fromOpaque = await processImage(await encodePng(opaque, 50, 50, 4));
    expect(fromOpaque.resized).toEqual({ height: 560, width: 560 });
    expect(Buffer.from(fromOpaque.pixelValues.buffer).equals(Buffer.from(fromRgb.pixelValues.buffer))).toBe(true);
    const fromClear = await processImage(await encodePng(clear, 50, 50, 4));
    for (let c = 0; c < 3; c++) for (let k = 0; k < PLANE; k += 997) expect(fromClear.pixelValues[c * PLANE + k]).toBe(luts[c][255]);
  });

  it('handles very wide and very tall images (4 tiles in a row / column)', async () => {
    const wide = await processImage(await encodePng(gradientPixels(4000, 100, 3), 4000, 100, 3));
    expect(wide).toMatchObject({ numTiles: 4, aspectRatioId: 4, resized: { height: 56, width: 2240 }, canvas: { height: 560, width: 2240 } });
    const tall = await processImage(await encodePng(gradientPixels(100, 4000, 3), 100, 4000, 3));
    expect(tall).toMatchObject({ numTiles: 4, aspectRatioId: 8, resized: { height: 2240, width: 56 }, canvas: { height: 2240, width: 560 } });
    // Below row 56 every tile of the wide image is padding.
    for (let t = 0; t < 4; t++) expect(at(wide.pixelValues, t, 1, 100, 300)).toBe(luts[1][0]);
  });

  it('produces values that invert to uint8 levels exactly', async () => {
    const out = await processImage(await encodePng(gradientPixels(1500, 1000, 3, 3), 1500, 1000, 3));
    expect(out).toMatchObject({ numTiles: 4, aspectRatioId: 6, resized: { height: 746, width: 1120 } });
    for (let k = 0; k < out.pixelValues.length; k += 4099) {
      const c = Math.floor((k % (3 * PLANE)) / PLANE);
      const v = out.pixelValues[k];
      const u = level(v, c);
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThanOrEqual(255);
      expect(luts[c][u]).toBe(v);
    }
  });

  it('stops with IMAGE_ABORTED when the signal fires during decoding', async () => {
    const png = await encodePng(gradientPixels(300, 200, 3), 300, 200, 3);
    const controller = new AbortController();
    const pending = processImage(png, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'IMAGE_ABORTED' });
  });

  it('enforces limits passed through options', async () => {
    const png = await encodePng(gradientPixels(300, 200, 3), 300, 200, 3);
    await expect(processImage(png, { limits: { maxBytes: 10 } })).rejects.toMatchObject({ code: 'IMAGE_TOO_MANY_BYTES' });
    await expect(processImage(png, { limits: { maxPixels: 100 } })).rejects.toMatchObject({ code: 'IMAGE_TOO_MANY_PIXELS' });
  });
});

describe('prepareVisionInputs', () => {
  const IMG = 128256;

  it('packs several images as [1, n, maxTiles, 3, S, S] with the cross-attention mask', async () => {
    const small = await encodePng(gradientPixels(300, 200, 3, 1), 300, 200, 3);
    const wide = await encodePng(gradientPixels(1200, 400, 3, 2), 1200, 400, 3);
    const first = await processImage(small);
    const ids = [128000, IMG, 11, 12, IMG, 13];
    const v = await prepareVisionInputs([first, wide], ids, { imageTokenId: IMG });
    expect(v.numImages).toBe(2);
    expect(v.maxTiles).toBe(4);
    expect(v.tileSize).toBe(560);
    expect(v.pixelValues.length).toBe(2 * 4 * 3 * PLANE);
    expect(v.aspectRatioIds).toEqual([1, 3]);
    expect(v.aspectRatioMask).toEqual([[1, 0, 0, 0], [1, 1, 1, 0]]);
    expect(v.crossAttentionMask).toEqual([
      [[0, 0, 0, 0], [0, 0, 0, 0]],
      [[1, 0, 0, 0], [0, 0, 0, 0]],
      [[1, 0, 0, 0], [0, 0, 0, 0]],
      [[1, 0, 0, 0], [0, 0, 0, 0]],
      [[0, 0, 0, 0], [1, 1, 1, 0]],
      [[0, 0, 0, 0], [1, 1, 1, 0]],
    ]);
    const tile = 3 * PLANE;
    expect(Buffer.from(v.pixelValues.buffer, 0, tile * 4).equals(Buffer.from(first.pixelValues.buffer))).toBe(true);
    // Tiles past an image's count are exactly 0.
    expect(v.pixelValues.subarray(tile, 4 * tile).every((x) => x === 0)).toBe(true);
    expect(v.pixelValues.subarray(7 * tile, 8 * tile).every((x) => x === 0)).toBe(true);
    expect(v.pixelValues.subarray(4 * tile, 7 * tile).some((x) => x !== 0)).toBe(true);
  });

  it('rejects a prompt with a different number of <|image|> tokens', async () => {
    const png = await encodePng(gradientPixels(30, 20, 3), 30, 20, 3);
    await expect(prepareVisionInputs([png, png], [IMG, 1], { imageTokenId: IMG })).rejects.toBeInstanceOf(VisionPromptError);
  });
});

describe('ImageProcessor', () => {
  it('uses a model directory config, e.g. 28px tiles of a tiny checkpoint', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lookout-proc-'));
    try {
      await writeFile(path.join(dir, 'preprocessor_config.json'), JSON.stringify({ size: { height: 28, width: 28 }, max_image_tiles: 4 }));
      const proc = await ImageProcessor.fromModelDir(dir, { limits: { maxBytes: 1_000_000 } });
      const png = await encodePng(gradientPixels(60, 30, 3), 60, 30, 3);
      const img = await proc.process(png);
      expect(img).toMatchObject({ tileSize: 28, numTiles: 2, aspectRatioId: 2, canvas: { height: 28, width: 56 }, resized: { height: 28, width: 56 } });
      expect(img.pixelValues.length).toBe(2 * 3 * 28 * 28);
      const v = await proc.prepare([img], [128000, 128256, 5]);
      expect(v).toMatchObject({ numImages: 1, maxTiles: 4, tileSize: 28, aspectRatioIds: [2] });
      expect(v.pixelValues.length).toBe(4 * 3 * 28 * 28);
      expect(v.crossAttentionMask[2]).toEqual([[1, 1, 0, 0]]);
      await expect(proc.process(Buffer.alloc(2_000_000))).rejects.toMatchObject({ code: 'IMAGE_TOO_MANY_BYTES' });
      const offThread = await ImageProcessor.fromModelDir(dir, { offThread: true });
      try {
        const viaWorker = await offThread.prepare([png], [128000, 128256, 5]);
        expect(Buffer.from(viaWorker.pixelValues.buffer).equals(Buffer.from(v.pixelValues.buffer))).toBe(true);
      } finally {
        await offThread.close();
      }
      const defaults = await ImageProcessor.fromModelDir(path.join(dir, 'missing'));
      expect(defaults.config.tileSize).toBe(560);
      const tinyA = '/work/shared/reference/mllama/tiny-a';
      if (existsSync(path.join(tinyA, 'config.json')) && !existsSync(path.join(tinyA, 'preprocessor_config.json'))) {
        expect((await ImageProcessor.fromModelDir(tinyA)).config).toMatchObject({ tileSize: 28, maxImageTiles: 4 });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
