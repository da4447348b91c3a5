// Measures the main object in a photo: the pixels that differ from the background (estimated
// from the image border), their bounding box, size in centimetres at a known scale, and colour.
import sharp from 'sharp';
import { LookoutError } from '@lookout/tools/errors';

export interface Measurement {
  imageWidth: number;
  imageHeight: number;
  box: { x: number; y: number; width: number; height: number };
  widthCm: number;
  heightCm: number;
  color: string;
  rgb: [number, number, number];
}

export class MeasureError extends LookoutError<'measure.no-object'> {
  constructor(message: string) {
    super('measure.no-object', message);
  }
}

const PALETTE: Array<[string, [number, number, number]]> = [
  ['red', [200, 40, 40]],
  ['orange', [230, 130, 30]],
  ['yellow', [230, 210, 50]],
  ['green', [50, 150, 60]],
  ['blue', [40, 80, 200]],
  ['purple', [120, 60, 160]],
  ['brown', [130, 85, 45]],
  ['black', [20, 20, 20]],
  ['grey', [128, 128, 128]],
  ['white', [240, 240, 240]],
];

export function colorName([r, g, b]: [number, number, number]): string {
  let best = PALETTE[0]!;
  let bestDistance = Infinity;
  for (const entry of PALETTE) {
    const [pr, pg, pb] = entry[1];
    const d = (r - pr) ** 2 + (g - pg) ** 2 + (b - pb) ** 2;
    if (d < bestDistance) [best, bestDistance] = [entry, d];
  }
  return best[0];
}

/** `pixelsPerCm`: the photo's scale (e.g. from a ruler or a known reference in the picture). */
export async function measureObject(image: Uint8Array, pixelsPerCm: number): Promise<Measurement> {
  const { data, info } = await sharp(image).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const at = (x: number, y: number) => (y * width + x) * 3;
  // Background: mean colour of the one-pixel border.
  let sum = [0, 0, 0];
  let n = 0;
  const addBorder = (x: number, y: number) => {
    const i = at(x, y);
    sum = [sum[0]! + data[i]!, sum[1]! + data[i + 1]!, sum[2]! + data[i + 2]!];
    n++;
  };
  for (let x = 0; x < width; x++) (addBorder(x, 0), addBorder(x, height - 1));
  for (let y = 0; y < height; y++) (addBorder(0, y), addBorder(width - 1, y));
  const bg = sum.map((s) => s / n);

  let minX = width, minY = height, maxX = -1, maxY = -1;
  const fg = [0, 0, 0];
  let count = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = at(x, y);
      const d = Math.abs(data[i]! - bg[0]!) + Math.abs(data[i + 1]! - bg[1]!) + Math.abs(data[i + 2]! - bg[2]!);
      if (d < 90) continue;
      count++;
      fg[0] += data[i]!;
      fg[1] += data[i + 1]!;
      fg[2] += data[i + 2]!;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  }
  // Fewer than 0.1% of the pixels differ from the background: nothing to measure.
  if (count < (width * height) / 1000) throw new MeasureError('no object stands out from the background; photograph it on a plain surface');
  const box = { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 };
  const rgb = fg.map((c) => Math.round(c / count)) as [number, number, number];
  const cm = (px: number) => Math.round((px / pixelsPerCm) * 10) / 10;
  return { imageWidth: width, imageHeight: height, box, widthCm: cm(box.width), heightCm: cm(box.height), color: colorName(rgb), rgb };
}
