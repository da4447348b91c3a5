import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { buildModel } from './build.js';
import { OnnxEngine } from './engine.js';
import { readCaseInputs, verifyCase, maxAbsDiff } from './verify.js';
import type { BuildDtype } from './weights.js';
import { quantizeInt4, dequantizeInt4 } from './int4.js';
import { f16BitsToF32, f32ToF16Bits } from '../weights/index.js';
import { writeTransformed } from './test-support/checkpoints.js';
import { useTempDirs } from './test-support/temp-dirs.js';

const CASE = join(import.meta.dirname, '../../../../../shared/reference/mllama/tiny-a');
const temp = useTempDirs();

const half = (v: Float32Array) => f16BitsToF32(f32ToF16Bits(v));
/** Tensors the builder feeds to MatMul (Linear layers, lm_head excluded). */
const isLinear = (name: string) => /(_proj|fc1|fc2|multi_modal_projector)\.weight$/.test(name);
const isHalfInQuantBuilds = (name: string) => name.endsWith('embed_tokens.weight') || name.endsWith('lm_head.weight');

async function promptLogits(modelDir: string, dtype: BuildDtype, compute?: 'f32' | 'f16'): Promise<Float32Array> {
  const out = temp('lookout-dt-');
  await buildModel(modelDir, { outDir: out, dtype, compute });
  const engine = await OnnxEngine.load(out);
  try {
    const { inputIds, vision } = await readCaseInputs(CASE);
    return (await engine.prefill(inputIds, vision, { allLogits: true })).allLogits;
  } finally {
    await engine.dispose();
  }
}

describe('fp16 and int4 builds against fp32 and HF', () => {
  let fp16Seen: string;
  let int4Seen: string;
  beforeAll(async () => {
    // The same model as the fp16 (f32 compute) and int4 builds see it, as plain f32 checkpoints.
    fp16Seen = temp('lookout-fp16-seen-');
    await writeTransformed(CASE, fp16Seen, (name, _s, v) => (isLinear(name) || isHalfInQuantBuilds(name) ? half(v) : v));
    int4Seen = temp('lookout-int4-seen-');
    await writeTransformed(CASE, int4Seen, (name, shape, v) => {
      if (isHalfInQuantBuilds(name)) return half(v);
      if (isLinear(name) && shape[1] % 32 === 0) {
        return dequantizeInt4(quantizeInt4(v, shape[0], shape[1], 32), shape[0], shape[1], 32);
      }
      return v;
    });
  }, 60_000);

  it('fp16 weights with f32 compute (--compute f32) compute exactly what fp32 computes on fp16-rounded weights', async () => {
    const a = await promptLogits(CASE, 'fp16', 'f32');
    const b = await promptLogits(fp16Seen, 'fp32');
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
  }, 60_000);

  it('int4 (MatMulNBits, block 32) computes what fp32 computes on dequantised weights', async () => {
    const a = await promptLogits(CASE, 'int4');
    const b = await promptLogits(int4Seen, 'fp32');
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-4);
  }, 60_000);

  it('fp16 stays within 0.05 of HF logits (values ±20) and keeps the 12 greedy tokens on tiny-a and tiny-text', async () => {
    for (const c of [CASE, join(CASE, '../tiny-text')]) {
      const r = await verifyCase(c, { dtype: 'fp16' });
      expect(r.maxAbsDiff).toBeLessThan(0.05);
      expect(r.greedyMatch).toBe(true);
    }
  }, 60_000);
});
