import { afterAll, describe, expect, it } from 'vitest';
import { processImage } from '../processor.js';
import { encodePng, gradientPixels } from '../../testing/image-fixtures.js';
import { noisePixels } from '../../testing/image-extra-cases.js';
import { ImageWorker } from './image-worker.js';

const worker = new ImageWorker();
afterAll(() => worker.close());

describe('ImageWorker', () => {
  it('gives exactly what processImage gives, for several images in flight', async () => {
    const inputs = [
      await encodePng(noisePixels(1500, 1000, 3, 1), 1500, 1000, 3),
      await encodePng(gradientPixels(50, 50, 4), 50, 50, 4),
      await encodePng(gradientPixels(400, 1200, 1), 400, 1200, 1),
    ];
    const offThread = await Promise.all(inputs.map((b) => worker.process(b)));
    for (let i = 0; i < inputs.length; i++) {
      const local = await processImage(inputs[i]);
      expect(offThread[i].numTiles).toBe(local.numTiles);
      expect(offThread[i].aspectRatioId).toBe(local.aspectRatioId);
      expect(offThread[i].pixelValues).toBeInstanceOf(Float32Array);
      expect(Buffer.from(offThread[i].pixelValues.buffer).equals(Buffer.from(local.pixelValues.buffer))).toBe(true);
    }
  });

  it('applies limits before handing work to the thread, and fails after close', async () => {
    const png = await encodePng(gradientPixels(300, 200, 3), 300, 200, 3);
    await expect(worker.process(png, { limits: { maxPixels: 100 } })).rejects.toMatchObject({ code: 'IMAGE_TOO_MANY_PIXELS' });
    const other = new ImageWorker();
    await other.process(png);
    await other.close();
    await expect(other.process(png)).rejects.toMatchObject({ code: 'IMAGE_WORKER_FAILED' });
  });
});
