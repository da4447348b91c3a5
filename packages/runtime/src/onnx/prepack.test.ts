import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { buildModel } from './build.js';
import { OnnxEngine } from './engine.js';
import { readCaseInputs } from './verify.js';
import { useTempDirs } from '../testing/temp-dirs.js';

const CASE = join(import.meta.dirname, '../../../../../shared/reference/mllama/tiny-a');
const temp = useTempDirs();

// fp32 builds load with onnxruntime's weight prepacking off on CPU (one copy of the weights, not
// two); the packed and the unpacked kernels must compute the same model.
describe('weight prepacking', () => {
  it('off (the fp32 default) and on give the same logits, with an image, to f32 rounding', async () => {
    const out = temp('lookout-prepack-');
    await buildModel(CASE, { outDir: out });
    const { inputIds, vision } = await readCaseInputs(CASE);
    const logits = async (prepackWeights?: boolean) => {
      const engine = await OnnxEngine.load(out, { prepackWeights });
      try {
        const s = await engine.prefill(inputIds, vision, { allLogits: true });
        const ids = await s.greedy(8);
        return { all: s.allLogits.slice(), ids };
      } finally {
        await engine.dispose();
      }
    };
    const byDefault = await logits();
    const packed = await logits(true);
    expect(byDefault.ids).toEqual(packed.ids);
    let worst = 0;
    for (let i = 0; i < packed.all.length; i++) worst = Math.max(worst, Math.abs(packed.all[i] - byDefault.all[i]));
    expect(worst).toBeLessThan(1e-4);
  }, 60_000);
});
