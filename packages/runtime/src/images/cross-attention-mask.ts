import { VisionPromptError } from './errors.js';

/**
 * Which prompt tokens may attend to which image, as MllamaProcessor builds it (transformers
 * 4.45.2, get_cross_attention_token_mask + convert_sparse_cross_attention_mask_to_dense).
 */

/**
 * Sparse form: one [start, end) per image token. Each image's range starts at its <|image|>
 * token and runs to the next image token, the last one to the end. A run of consecutive image
 * tokens all extend to the end of the range that follows the run, so a group of images shown
 * together is visible to the text after all of them. end = -1 means "to the end" (one image).
 */
export function crossAttentionTokenRanges(inputIds: ArrayLike<number>, imageTokenId: number): Array<[number, number]> {
  const locations: number[] = [];
  for (let i = 0; i < inputIds.length; i++) if (inputIds[i] === imageTokenId) locations.push(i);
  if (locations.length === 0) return [];
  if (locations.length === 1) return [[locations[0], -1]];
  const ranges: Array<[number, number]> = [];
  for (let i = 0; i + 1 < locations.length; i++) ranges.push([locations[i], locations[i + 1]]);
  ranges.push([locations[locations.length - 1], inputIds.length]);
  let lastEnd = ranges[ranges.length - 1][1];
  for (let i = ranges.length - 1; i >= 0; i--) {
    if (ranges[i][0] === ranges[i][1] - 1) ranges[i][1] = lastEnd;
    lastEnd = ranges[i][1];
  }
  return ranges;
}

export interface CrossAttentionMaskOptions {
  imageTokenId: number;
  /** Valid tiles of each image, in prompt order. */
  numTiles: number[];
  maxTiles: number;
}

/**
 * Dense [T][nImages][maxTiles] 0/1 mask: token t sees the first numTiles[i] tiles of image i
 * when t lies in image i's range. Throws when the prompt's image tokens and numTiles disagree.
 */
export function buildCrossAttentionMask(inputIds: ArrayLike<number>, options: CrossAttentionMaskOptions): number[][][] {
  const { imageTokenId, numTiles, maxTiles } = options;
  const ranges = crossAttentionTokenRanges(inputIds, imageTokenId);
  if (ranges.length !== numTiles.length) {
    throw new VisionPromptError(
      `the prompt has ${ranges.length} image token(s) (id ${imageTokenId}) but ${numTiles.length} image(s) were given; put one <|image|> token in the prompt per image`,
    );
  }
  for (const n of numTiles) {
    if (!Number.isInteger(n) || n < 1 || n > maxTiles) {
      throw new VisionPromptError(`numTiles entries must be integers in 1..${maxTiles}, got ${n}`);
    }
  }
  const length = inputIds.length;
  const mask: number[][][] = Array.from({ length }, () => numTiles.map(() => new Array<number>(maxTiles).fill(0)));
  ranges.forEach(([start, rawEnd], image) => {
    // HF: end = min(end, length); end == -1 means the end of the prompt.
    let end = Math.min(rawEnd, length);
    if (end === -1) end = length;
    for (let t = start; t < end; t++) {
      const row = mask[t][image];
      for (let k = 0; k < numTiles[image]; k++) row[k] = 1;
    }
  });
  return mask;
}
