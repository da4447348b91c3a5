import { createHash } from 'node:crypto';
import { readFile, access } from 'node:fs/promises';
import path from 'node:path';
import { SafetensorsFile } from '../weights/index.js';
import { loadPreprocessorConfig } from './config.js';
import { processImage } from './processor.js';

/**
 * Checks this processor against a directory of reference outputs shaped like
 * shared/reference/image_processor: preprocessor_config.json, images/, expected.json (per image:
 * file, num_tiles, canvas_hw, resized_hw, aspect_ratio_ids, aspect_ratio_mask, optional sha256)
 * and expected.safetensors (pixel_values.{i} for the valid tiles, aspect_ratio_ids.{i},
 * aspect_ratio_mask.{i}).
 */

/** Default pixel tolerance. Both sides compute the same float32 operations on the same uint8
 * values, so a bit-exact resize gives 0; 1e-6 only absorbs float32 rounding of other
 * implementations. One uint8 step after normalisation is 1/255/std >= 0.0142, far above it. */
export const DEFAULT_PIXEL_TOLERANCE = 1e-6;

export interface ImageReferenceResult {
  index: number;
  file: string;
  /** False when the image file listed in expected.json is not in images/ (skipped, not failed). */
  present: boolean;
  sha256Match?: boolean;
  numTiles?: { expected: number; actual: number };
  tilesMatch?: boolean;
  aspectRatioIdMatch?: boolean;
  aspectRatioMaskMatch?: boolean;
  canvasMatch?: boolean;
  resizedMatch?: boolean;
  maxAbsDiff?: number;
  /** Pixel values whose difference exceeds the tolerance. */
  valuesOverTolerance?: number;
  pass: boolean;
  error?: string;
}

export interface ImageReferenceReport {
  dir: string;
  tolerance: number;
  results: ImageReferenceResult[];
  checked: number;
  skipped: number;
  /** Every present image passed and at least one image was checked. */
  pass: boolean;
}

interface ExpectedImage {
  index: number;
  file: string;
  sha256?: string;
  num_tiles: number;
  canvas_hw?: [number, number];
  resized_hw?: [number, number];
  aspect_ratio_ids?: number[][];
  aspect_ratio_mask?: number[][][];
}

const exists = (p: string) => access(p).then(() => true, () => false);

export async function verifyImageReference(dir: string, options: { tolerance?: number } = {}): Promise<ImageReferenceReport> {
  const tolerance = options.tolerance ?? DEFAULT_PIXEL_TOLERANCE;
  const config = await loadPreprocessorConfig(path.join(dir, 'preprocessor_config.json'));
  const expected = JSON.parse(await readFile(path.join(dir, 'expected.json'), 'utf8')) as { images?: ExpectedImage[] };
  if (!Array.isArray(expected.images)) throw new Error(`${path.join(dir, 'expected.json')} has no "images" array`);
  const tensors = await SafetensorsFile.open(path.join(dir, 'expected.safetensors'));
  const results: ImageReferenceResult[] = [];
  try {
    for (const exp of expected.images) {
      const file = path.join(dir, exp.file);
      if (!(await exists(file))) {
        results.push({ index: exp.index, file: exp.file, present: false, pass: true });
        continue;
      }
      try {
        results.push(await checkOne(exp, file, tensors, config, tolerance));
      } catch (err) {
        results.push({ index: exp.index, file: exp.file, present: true, pass: false, error: (err as Error).message });
      }
    }
  } finally {
    await tensors.close();
  }
  const checked = results.filter((r) => r.present).length;
  return {
    dir,
    tolerance,
    results,
    checked,
    skipped: results.length - checked,
    pass: checked > 0 && results.every((r) => r.pass),
  };
}

async function checkOne(
  exp: ExpectedImage,
  file: string,
  tensors: SafetensorsFile,
  config: Awaited<ReturnType<typeof loadPreprocessorConfig>>,
  tolerance: number,
): Promise<ImageReferenceResult> {
  const bytes = await readFile(file);
  const sha256Match = exp.sha256 ? createHash('sha256').update(bytes).digest('hex') === exp.sha256 : undefined;
  const out = await processImage(bytes, { config });
  const i = exp.index;

  const ids = await tensors.readTyped(`aspect_ratio_ids.${i}`);
  const mask = await tensors.readTyped(`aspect_ratio_mask.${i}`);
  const expectedId = Number(ids[0]);
  const expectedMask = Array.from(mask as ArrayLike<number | bigint>, Number);
  const aspectRatioIdMatch = expectedId === out.aspectRatioId;
  const aspectRatioMaskMatch = expectedMask.length === out.aspectRatioMask.length && expectedMask.every((v, k) => v === out.aspectRatioMask[k]);
  const tilesMatch = exp.num_tiles === out.numTiles;
  const canvasMatch = !exp.canvas_hw || (exp.canvas_hw[0] === out.canvas.height && exp.canvas_hw[1] === out.canvas.width);
  const resizedMatch = !exp.resized_hw || (exp.resized_hw[0] === out.resized.height && exp.resized_hw[1] === out.resized.width);

  let maxAbsDiff = Infinity;
  let valuesOverTolerance = 0;
  const pixels = await tensors.readTensor(`pixel_values.${i}`);
  if (pixels.length === out.pixelValues.length) {
    maxAbsDiff = 0;
    for (let k = 0; k < pixels.length; k++) {
      const d = Math.abs(pixels[k] - out.pixelValues[k]);
      if (d > maxAbsDiff) maxAbsDiff = d;
      if (d > tolerance) valuesOverTolerance++;
    }
  } else {
    valuesOverTolerance = Math.max(pixels.length, out.pixelValues.length);
  }
  const pass =
    sha256Match !== false && tilesMatch && aspectRatioIdMatch && aspectRatioMaskMatch && canvasMatch && resizedMatch && maxAbsDiff <= tolerance;
  return {
    index: i,
    file: exp.file,
    present: true,
    sha256Match,
    numTiles: { expected: exp.num_tiles, actual: out.numTiles },
    tilesMatch,
    aspectRatioIdMatch,
    aspectRatioMaskMatch,
    canvasMatch,
    resizedMatch,
    maxAbsDiff,
    valuesOverTolerance,
    pass,
  };
}
