import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel } from './build.js';
import { OnnxEngine } from './engine.js';
import { readModelSpec, type ModelSpec } from './config.js';
import { argmax, maxAbsDiff } from './verify.js';
import { VisionIO } from './vision-io.js';
import type { VisionInputs } from '../model/engine.js';
import { loadAllWeights, twoImageVision, writeTinyMllama } from '../testing/checkpoints.js';
import { referenceDecoder, referenceVision, type Weights } from '../testing/reference-forward.js';

// A generated Mllama whose text head_dim is 16, so the decoder runs GroupQueryAttention (the
// reference cases use 8 and fall back to plain attention), with BF16 weights, 56 px tiles
// (17 patches padded to 24) and two images of 2 and 4 tiles.
function inputs(spec: ModelSpec): { ids: number[]; vision: VisionInputs } {
  const ids = [128000, 9906, 128256, 11, 1234, 128256, 77, 5000, 42, 900];
  const row = (t: number): number[][] => (t < 2 ? [[0, 0, 0, 0], [0, 0, 0, 0]] : t < 5 ? [[1, 1, 0, 0], [0, 0, 0, 0]] : [[0, 0, 0, 0], [1, 1, 1, 1]]);
  return { ids, vision: twoImageVision(spec, { seed: 5, tiles: [2, 4], aspectRatioIds: [2, 6], ids, row }) };
}

describe('generated Mllama (GQA decoder, BF16, two images) vs the float64 reference', () => {
  const dirs: string[] = [];
  let model: string;
  let spec: ModelSpec;
  let W: Weights;
  beforeAll(async () => {
    model = mkdtempSync(join(tmpdir(), 'lookout-mllama-gen-'));
    dirs.push(model);
    await writeTinyMllama(model, { dtype: 'BF16' });
    spec = await readModelSpec(model);
    W = await loadAllWeights(model);
  }, 60_000);
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  for (const fused of [true, false]) {
    it(`fused=${fused}: projector output, prompt logits, cached steps and the greedy loop match`, async () => {
      const out = mkdtempSync(join(tmpdir(), 'lookout-mllama-gen-onnx-'));
      dirs.push(out);
      await buildModel(model, { outDir: out, fused });
      const engine = await OnnxEngine.load(out);
      try {
        const { ids, vision } = inputs(spec);
        const states = referenceVision(spec, W, vision);
        const enc = await engine.encodeImages(vision);
        expect(maxAbsDiff(enc.outputs[VisionIO.crossAttentionStates].data as Float32Array, states)).toBeLessThan(1e-4);

        const s = await engine.prefill(ids, vision, { allLogits: true });
        expect(maxAbsDiff(s.allLogits, referenceDecoder(spec, W, ids, { states, dense: vision.crossAttentionMask }))).toBeLessThan(5e-4);

        const V = spec.text.vocabSize;
        const seq = [...ids];
        const dense = [...vision.crossAttentionMask];
        let logits = s.logits;
        for (let i = 0; i < 4; i++) {
          const ref = referenceDecoder(spec, W, seq, { states, dense });
          expect(maxAbsDiff(logits, ref.subarray((seq.length - 1) * V))).toBeLessThan(5e-4);
          seq.push(argmax(logits));
          dense.push(vision.crossAttentionMask[ids.length - 1]);
          logits = await s.step(seq[seq.length - 1]);
        }
        const again = await engine.prefill(ids, vision);
        expect(await again.greedy(4)).toEqual(seq.slice(ids.length));
      } finally {
        await engine.dispose();
      }
    }, 120_000);
  }
});
