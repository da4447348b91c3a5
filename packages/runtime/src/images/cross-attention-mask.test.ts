import { readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCrossAttentionMask, crossAttentionTokenRanges } from './cross-attention-mask.js';
import { VisionPromptError } from './errors.js';

const IMG = 128256;
const tinyA = '/work/shared/reference/mllama/tiny-a/inputs.json';

describe('cross-attention token mask (MllamaProcessor)', () => {
  it.skipIf(!existsSync(tinyA))('reproduces the tiny-a reference mask and ranges', () => {
    const inputs = JSON.parse(readFileSync(tinyA, 'utf8'));
    const ids: number[] = inputs.input_ids[0];
    expect(crossAttentionTokenRanges(ids, inputs.image_token_index)).toEqual(inputs.cross_attention_token_ranges[0]);
    const mask = buildCrossAttentionMask(ids, { imageTokenId: inputs.image_token_index, numTiles: inputs.num_tiles[0], maxTiles: 4 });
    expect(mask).toEqual(inputs.cross_attention_mask[0]);
  });

  it('gives each image the text up to the next image; consecutive images share what follows', () => {
    const ids = [IMG, IMG, 5, 6, IMG, 7];
    expect(crossAttentionTokenRanges(ids, IMG)).toEqual([[0, 4], [1, 4], [4, 6]]);
    const mask = buildCrossAttentionMask(ids, { imageTokenId: IMG, numTiles: [1, 4, 2], maxTiles: 4 });
    expect(mask.length).toBe(6);
    expect(mask[0]).toEqual([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
    expect(mask[1]).toEqual([[1, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]]);
    expect(mask[3]).toEqual([[1, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]]);
    expect(mask[4]).toEqual([[0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 0, 0]]);
    expect(mask[5]).toEqual([[0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 0, 0]]);
  });

  it('separated images each see only their own stretch of text', () => {
    const ids = [1, IMG, 2, 3, IMG, 4];
    expect(crossAttentionTokenRanges(ids, IMG)).toEqual([[1, 4], [4, 6]]);
    const mask = buildCrossAttentionMask(ids, { imageTokenId: IMG, numTiles: [3, 1], maxTiles: 4 });
    expect(mask.map((row) => row.map((img) => img.reduce((a, b) => a + b, 0)))).toEqual([
      [0, 0], [3, 0], [3, 0], [3, 0], [0, 1], [0, 1],
    ]);
  });

  it('returns no ranges for a text-only prompt', () => {
    expect(crossAttentionTokenRanges([1, 2, 3], IMG)).toEqual([]);
    expect(buildCrossAttentionMask([1, 2], { imageTokenId: IMG, numTiles: [], maxTiles: 4 })).toEqual([[], []]);
  });

  it('rejects a prompt whose image tokens do not match the images', () => {
    const err = (() => {
      try {
        buildCrossAttentionMask([IMG, 1], { imageTokenId: IMG, numTiles: [1, 1], maxTiles: 4 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(VisionPromptError);
    expect((err as VisionPromptError).code).toBe('IMAGE_PROMPT_MISMATCH');
    expect(() => buildCrossAttentionMask([IMG], { imageTokenId: IMG, numTiles: [5], maxTiles: 4 })).toThrow(/1\.\.4/);
  });
});
