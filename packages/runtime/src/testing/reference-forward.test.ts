import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readModelSpec } from '../onnx/config.js';
import { readCaseInputs, maxAbsDiff } from '../onnx/verify.js';
import { loadAllWeights } from './checkpoints.js';
import { referenceDecoder, referenceVision } from './reference-forward.js';
import { REFERENCE_MLLAMA_DIR as REF } from './reference-model-dir.js';

// The float64 reference used by the multi-image and Llama tests must itself agree with HF.
describe('float64 reference forward', () => {
  for (const name of ['tiny-a', 'tiny-text']) {
    it(`${name}: agrees with HF logits of every position`, async () => {
      const dir = join(REF, name);
      const spec = await readModelSpec(dir);
      const W = await loadAllWeights(dir);
      const { inputIds, vision, tensors } = await readCaseInputs(dir);
      let cross;
      if (vision) {
        const states = referenceVision(spec, W, vision);
        expect(maxAbsDiff(Float32Array.from(states), tensors.get('cross_attention_states')!.data)).toBeLessThan(1e-4);
        cross = { states, dense: vision.crossAttentionMask };
      }
      const logits = referenceDecoder(spec, W, inputIds, cross);
      expect(maxAbsDiff(logits, tensors.get('logits')!.data)).toBeLessThan(2e-4);
    }, 60_000);
  }
});
