import { describe, expect, it } from 'vitest';
import { MLLAMA_PROCESSOR_CONFIG } from './config.js';
import { ImageProcessor } from './image-processor.js';
import { ProcessedImageCache } from './processed-cache.js';
import { encodePng, gradientPixels } from '../testing/image-fixtures.js';

const small = { ...MLLAMA_PROCESSOR_CONFIG, tileSize: 28, maxImageTiles: 2 };

describe('ProcessedImageCache', () => {
  it('processes a photo once per byte content, off the event loop, and gives the same pixels', async () => {
    const png = new Uint8Array(await encodePng(gradientPixels(40, 30, 3), 40, 30, 3));
    const cache = new ProcessedImageCache();
    const processor = new ImageProcessor(small, { offThread: true, cache });
    try {
      const first = await processor.process(png);
      const again = await processor.process(new Uint8Array(png)); // same bytes, another array
      const asDataUrl = await processor.process(`data:image/png;base64,${Buffer.from(png).toString('base64')}`);
      expect(again.pixelValues).toEqual(first.pixelValues);
      expect(asDataUrl.pixelValues).toEqual(first.pixelValues);
      expect({ hits: cache.hits, misses: cache.misses, size: cache.size }).toEqual({ hits: 1, misses: 2, size: 2 });
      const uncached = await new ImageProcessor(small, { cache: false }).process(png);
      expect(uncached.pixelValues).toEqual(first.pixelValues);
    } finally {
      await processor.close();
    }
  });

  it('a shared cache keeps processors with other settings apart', async () => {
    const png = new Uint8Array(await encodePng(gradientPixels(40, 30, 3), 40, 30, 3));
    const cache = new ProcessedImageCache();
    const a = await new ImageProcessor(small, { cache }).process(png);
    const b = await new ImageProcessor({ ...small, tileSize: 14 }, { cache }).process(png);
    expect(a.tileSize).toBe(28);
    expect(b.tileSize).toBe(14);
    expect(cache.misses).toBe(2);
  });

  it('stays within its byte budget, dropping the least recently used image', async () => {
    const cache = new ProcessedImageCache(3 * 1024);
    const image = (n: number) => ({ pixelValues: new Float32Array(256).fill(n) }) as never;
    cache.set('a', image(1));
    cache.set('b', image(2));
    cache.set('c', image(3));
    cache.get('a');
    cache.set('d', image(4));
    expect(cache.heldBytes).toBeLessThanOrEqual(3 * 1024);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
  });
});
