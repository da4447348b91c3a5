import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel } from './build.js';
import { OnnxEngine } from './engine.js';
import { readModelSpec, type ModelSpec } from './config.js';
import { maxAbsDiff } from './verify.js';
import { VisionIO } from './vision-io.js';
import type { VisionInputs } from '../model/engine.js';
import { loadAllWeights, twoImageVision } from '../testing/checkpoints.js';
import { referenceDecoder, referenceVision, type Weights } from '../testing/reference-forward.js';

const CASE = join(import.meta.dirname, '../../../../../shared/reference/mllama/tiny-a');

// Two images in one prompt: image 0 has 1 valid tile of 4 (1x1 canvas), image 1 has 3 (1x3).
// Expected values come from the float64 reference forward in testing/reference-forward.ts.
function twoImageInputs(spec: ModelSpec): { ids: number[]; vision: VisionInputs } {
  const img = 128256;
  const ids = [128000, img, 1201, 3302, 98765, img, 5121, 77, 60001, 4242];
  const row = (t: number): number[][] => {
    if (t === 0) return [[0, 0, 0, 0], [0, 0, 0, 0]];
    if (t < 5) return [[1, 0, 0, 0], [0, 0, 0, 0]]; // image 0's tokens see image 0's one tile
    return [[0, 0, 0, 0], [1, 1, 1, 0]]; // later tokens see image 1's three tiles
  };
  return { ids, vision: twoImageVision(spec, { seed: 11, tiles: [1, 3], aspectRatioIds: [1, 3], ids, row }) };
}

describe('Mllama with two images and partial tiles vs a float64 reference forward', () => {
  let dir: string;
  let engine: OnnxEngine;
  let spec: ModelSpec;
  let W: Weights;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookout-multi-'));
    await buildModel(CASE, { outDir: dir });
    engine = await OnnxEngine.load(dir);
    spec = await readModelSpec(CASE);
    W = await loadAllWeights(CASE);
  }, 60_000);
  afterAll(async () => {
    await engine?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('projector output of both images matches', async () => {
    const { vision } = twoImageInputs(spec);
    const enc = await engine.encodeImages(vision);
    const ours = enc.outputs[VisionIO.crossAttentionStates].data as Float32Array;
    const ref = referenceVision(spec, W, vision);
    expect(ours.length).toBe(ref.length);
    expect(maxAbsDiff(ours, ref)).toBeLessThan(1e-4);
  }, 60_000);

  it('prompt logits of every position and a cached decode step match', async () => {
    const { ids, vision } = twoImageInputs(spec);
    const states = referenceVision(spec, W, vision);
    const session = await engine.prefill(ids, vision, { allLogits: true });
    const ref = referenceDecoder(spec, W, ids, { states, dense: vision.crossAttentionMask });
    expect(maxAbsDiff(session.allLogits, ref)).toBeLessThan(5e-4);

    // One step with the KV cache; the reference recomputes the whole sequence with the last
    // mask row repeated for the new token (as HF generation does).
    const next = 4711;
    const logits = await session.step(next);
    const ids2 = [...ids, next];
    const dense2 = [...vision.crossAttentionMask, vision.crossAttentionMask[ids.length - 1]];
    const ref2 = referenceDecoder(spec, W, ids2, { states, dense: dense2 });
    const V = spec.text.vocabSize;
    expect(maxAbsDiff(logits, ref2.subarray(ids.length * V))).toBeLessThan(5e-4);
    session.dispose();
  }, 60_000);
});
