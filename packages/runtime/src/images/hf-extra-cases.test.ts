import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { processImage } from './processor.js';
import { EXTRA_CASES, pixelHash, sha256 } from '../testing/image-extra-cases.js';

interface ExpectedCase {
  name: string;
  mode: string;
  fileSha256: string;
  numTiles: number;
  aspectRatioId: number;
  pixelSha256: string;
}

const expected = JSON.parse(readFileSync(new URL('../testing/hf-extra-cases.json', import.meta.url), 'utf8')) as { cases: ExpectedCase[] };

describe('HF MllamaImageProcessor on extra cases (gray, LA, palette, RGBA, wide/tall, noise, JPEG/GIF/WebP)', () => {
  it('covers every generated case', () => {
    expect(expected.cases.map((c) => c.name)).toEqual(EXTRA_CASES.map((c) => c.name));
  });

  it('really has two frames in the animated GIF case', async () => {
    const gif = await EXTRA_CASES.find((c) => c.name === 'gif_two_frames_300x200')!.make();
    expect((await sharp(gif).metadata()).pages).toBe(2);
  });

  for (const c of EXTRA_CASES) {
    const exp = expected.cases.find((e) => e.name === c.name)!;
    it(`${c.name} (${exp.mode}): pixel values bit-identical`, async (ctx) => {
      const bytes = await c.make();
      // The HF values belong to these exact encoded bytes; another encoder version makes a different file.
      if (sha256(bytes) !== exp.fileSha256) ctx.skip(`sharp encoded ${c.name} differently from the file HF processed`);
      const out = await processImage(bytes, c.options);
      expect(out.numTiles).toBe(exp.numTiles);
      expect(out.aspectRatioId).toBe(exp.aspectRatioId);
      expect(pixelHash(out.pixelValues)).toBe(exp.pixelSha256);
    });
  }
});
