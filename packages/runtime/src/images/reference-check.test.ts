import { cp, mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../weights/index.js';
import { processImage } from './processor.js';
import { verifyImageReference } from './reference-check.js';

const REF = '/work/shared/reference/image_processor';

describe.skipIf(!existsSync(REF))('HF MllamaImageProcessor reference (transformers 4.45.2, Pillow 9.4)', () => {
  it('matches every shipped image bit for bit: tiles, ids, masks and pixel values', async () => {
    const report = await verifyImageReference(REF);
    expect(report.checked).toBeGreaterThanOrEqual(4);
    for (const r of report.results.filter((x) => x.present)) {
      expect(r, r.file).toMatchObject({ pass: true, tilesMatch: true, aspectRatioIdMatch: true, aspectRatioMaskMatch: true, canvasMatch: true, resizedMatch: true, sha256Match: true });
      expect(r.maxAbsDiff, r.file).toBe(0);
    }
    expect(report.pass).toBe(true);
  });

  it('reproduces the downscaled 2x2 image (Pillow antialiasing) exactly, read directly', async () => {
    const out = await processImage(path.join(REF, 'images/img3_1500x1000_rgb.png'));
    const file = await SafetensorsFile.open(path.join(REF, 'expected.safetensors'));
    try {
      const expected = await file.readTensor('pixel_values.3');
      expect(expected.length).toBe(out.pixelValues.length);
      let differing = 0;
      for (let i = 0; i < expected.length; i++) if (expected[i] !== out.pixelValues[i]) differing++;
      expect(differing).toBe(0);
    } finally {
      await file.close();
    }
  });

  it('fails a tampered copy of the reference', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lookout-imgref-'));
    try {
      await cp(REF, dir, { recursive: true });
      await chmod(path.join(dir, 'expected.json'), 0o644);
      const json = JSON.parse(await readFile(path.join(dir, 'expected.json'), 'utf8'));
      json.images[0].num_tiles = 2;
      json.images.push({ index: 9, file: 'images/not-shipped.png', num_tiles: 1 });
      await writeFile(path.join(dir, 'expected.json'), JSON.stringify(json));
      const report = await verifyImageReference(dir);
      expect(report.pass).toBe(false);
      expect(report.results[0]).toMatchObject({ tilesMatch: false, pass: false });
      expect(report.results.at(-1)).toMatchObject({ present: false });
      expect(report.skipped).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
