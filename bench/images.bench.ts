// Image processor throughput: a 4-tile image (1500x1000 PNG -> 2x2 canvas, resized to 1120x746)
// through processImage, against a bare sharp decode + resize of the same bytes to the same size.
import { createRequire } from 'node:module';
import { ImageProcessor, processImage, processRgbPixels, decodeImage, resolveLimits, toRgb } from '@lookout/runtime';
import type { Bench } from './report.js';

// sharp is a dependency of @lookout/runtime, not of the workspace root.
const sharp = createRequire(new URL('../packages/runtime/package.json', import.meta.url))('sharp') as typeof import('sharp');

const W = 1500;
const H = 1000;

function testImage(): Uint8Array {
  const px = new Uint8Array(W * H * 3);
  let s = 12345;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const x = (i / 3) % W;
    const y = Math.floor(i / 3 / W);
    px[i] = ((x + y * 2) * 0.2 + ((s >>> 24) & 31)) & 255;
  }
  return px;
}

/** Runs fn repeatedly for about `ms` (after one warm-up) and returns calls per second. */
async function rate(fn: () => Promise<unknown> | unknown, ms = 3000): Promise<number> {
  await fn();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    await fn();
    n++;
  }
  return (n * 1000) / (performance.now() - start);
}

const bench: Bench = async (report) => {
  const raw = testImage();
  const png = await sharp(Buffer.from(raw), { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
  const probe = await processImage(png);
  const { width: rw, height: rh } = probe.resized;

  const sharpFull = await rate(() => sharp(png).resize(rw, rh, { kernel: 'linear', fit: 'fill' }).raw().toBuffer());
  const full = await rate(() => processImage(png));
  report({
    name: `processImage, ${W}x${H} PNG -> ${probe.numTiles} tiles (${rw}x${rh})`,
    value: full,
    unit: 'images/s',
    baseline: { name: 'sharp decode + linear resize to the same size, raw out', value: sharpFull },
    note: 'includes decode, Pillow-exact resize, normalisation and tiling',
  });

  const limits = resolveLimits();
  const decoded = await decodeImage(png, limits);
  const rgb = toRgb(decoded.data, decoded.width * decoded.height, decoded.channels);
  const sharpResize = await rate(() => sharp(Buffer.from(rgb), { raw: { width: W, height: H, channels: 3 } }).resize(rw, rh, { kernel: 'linear', fit: 'fill' }).raw().toBuffer());
  const tsPipeline = await rate(() => processRgbPixels(rgb, W, H));
  report({
    name: 'processRgbPixels (resize + normalise + tile, already decoded)',
    value: tsPipeline,
    unit: 'images/s',
    baseline: { name: 'sharp resize of the same raw pixels', value: sharpResize },
  });

  // A 3-step tool turn with one photo: every model step sends the whole conversation, so the
  // vision inputs are prepared three times. With the cache the photo is decoded and resized once.
  const inputIds = [128256, 1, 2, 3];
  const turn = (processor: ImageProcessor) => async () => {
    for (let step = 0; step < 3; step++) await processor.prepare([png], inputIds);
  };
  const uncached = new ImageProcessor(undefined, { cache: false });
  const cached = () => new ImageProcessor(undefined, {});
  const fresh = await rate(turn(uncached));
  // A new cache per turn: the first step processes the photo, the two after it reuse the tiles.
  const once = await rate(() => turn(cached())());
  report({
    name: `vision inputs for a 3-step tool turn with one ${W}x${H} photo, processed-image cache`,
    value: once * 3,
    unit: 'steps/s',
    baseline: { name: 'every step decodes and resizes the photo again', value: fresh * 3 },
    note: 'ImageProcessor.prepare per model step (what OnnxModel does), cache fresh each turn',
  });
  const warm = cached();
  await warm.prepare([png], inputIds);
  const later = await rate(() => warm.prepare([png], inputIds));
  const first = await rate(() => uncached.prepare([png], inputIds));
  report({
    name: 'one later step of the turn (photo already processed)',
    value: later,
    unit: 'steps/s',
    baseline: { name: 'a step that processes the photo', value: first },
    note: 'what is left per step: hashing the bytes, packing the tiles, the cross-attention mask',
  });
};

export default bench;
