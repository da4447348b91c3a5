import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { buildModel } from './build.js';
import { OnnxEngine } from './engine.js';
import { readCaseInputs, verifyCase, maxAbsDiff } from './verify.js';
import type { BuildDtype } from './weights.js';
import { quantizeInt4, dequantizeInt4, quantizeInt8, dequantizeInt8 } from './int4.js';
import { argmax } from './verify.js';
import { f16BitsToF32, f32ToF16Bits } from '../weights/index.js';
import { writeTransformed } from '../testing/checkpoints.js';
import { useTempDirs } from '../testing/temp-dirs.js';

const CASE = join(import.meta.dirname, '../../../../../shared/reference/mllama/tiny-a');
const temp = useTempDirs();

const half = (v: Float32Array) => f16BitsToF32(f32ToF16Bits(v));
/** Tensors the builder feeds to MatMul (Linear layers, lm_head excluded). */
const isLinear = (name: string) => /(_proj|fc1|fc2|multi_modal_projector)\.weight$/.test(name);
const isEmbeddings = (name: string) => name.endsWith('embed_tokens.weight');
/** lm_head and the embeddings of an int4 build with f32 compute: 8-bit blocks (weights.ts INT4_DEFAULTS). */
const isInt8InQuantBuilds = (name: string) => name.endsWith('lm_head.weight') || isEmbeddings(name);

/** Runs `f` with environment variables set, restoring them afterwards. */
async function withEnv<T>(vars: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(before)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

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
    await writeTransformed(CASE, fp16Seen, (name, _s, v) => (isLinear(name) || isInt8InQuantBuilds(name) ? half(v) : v));
    int4Seen = temp('lookout-int4-seen-');
    await writeTransformed(CASE, int4Seen, (name, shape, v) => {
      const block = 32;
      if (isInt8InQuantBuilds(name) && shape[1] % 32 !== 0) return half(v);
      if (isInt8InQuantBuilds(name)) return dequantizeInt8(quantizeInt8(v, shape[0], shape[1], block), shape[0], shape[1], block);
      if (isLinear(name) && shape[1] % 32 === 0) {
        return dequantizeInt4(quantizeInt4(v, shape[0], shape[1], block), shape[0], shape[1], block);
      }
      return v;
    });
  }, 60_000);

  it('fp16 weights with f32 compute (--compute f32) compute exactly what fp32 computes on fp16-rounded weights', async () => {
    const a = await promptLogits(CASE, 'fp16', 'f32');
    const b = await promptLogits(fp16Seen, 'fp32');
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
  }, 60_000);

  it('int4 (MatMulNBits, block 32, 8-bit lm_head and embeddings) at accuracy level 0 computes what fp32 computes on dequantised weights', async () => {
    const a = await withEnv({ LOOKOUT_INT4_ACCURACY_LEVEL: '0' }, () => promptLogits(CASE, 'int4'));
    const b = await promptLogits(int4Seen, 'fp32');
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-4);
  }, 60_000);

  it('int4 at the default accuracy level 4 (int8 activations) stays near level 0, mostly the same top-1 tokens', async () => {
    const exact = await promptLogits(int4Seen, 'fp32');
    const level4 = await promptLogits(CASE, 'int4');
    const vocab = 128256; // tiny-a's logits width (the Llama 3 vocabulary)
    const positions = exact.length / vocab;
    // Measured 0.46 on logits of ±20 (tiny-a); the trained fixture has the quality figures.
    expect(maxAbsDiff(level4, exact)).toBeLessThan(1);
    let same = 0;
    for (let t = 0; t < positions; t++) if (argmax(level4.subarray(t * vocab, (t + 1) * vocab)) === argmax(exact.subarray(t * vocab, (t + 1) * vocab))) same++;
    console.log(`tiny-a int4 level 4 vs level 0: max abs ${maxAbsDiff(level4, exact).toPrecision(3)}, top-1 ${same}/${positions}`);
    // A random checkpoint has near-ties; the trained fixture (int4-trained.test.ts) has the quality figures.
    expect(same / positions).toBeGreaterThanOrEqual(0.8);
  }, 60_000);

  it('fp16 stays within 0.05 of HF logits (values ±20) and keeps the 12 greedy tokens on tiny-a and tiny-text', async () => {
    for (const c of [CASE, join(CASE, '../tiny-text')]) {
      const r = await verifyCase(c, { dtype: 'fp16' });
      expect(r.maxAbsDiff).toBeLessThan(0.05);
      expect(r.greedyMatch).toBe(true);
    }
  }, 60_000);
});
