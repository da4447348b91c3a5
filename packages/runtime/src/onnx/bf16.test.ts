import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { buildModel } from './build.js';
import { OnnxEngine } from './engine.js';
import { readCaseInputs } from './verify.js';
import { writeBf16Variant } from '../testing/checkpoints.js';
import { useTempDirs } from '../testing/temp-dirs.js';

const CASE = join(import.meta.dirname, '../../../../../shared/reference/mllama/tiny-a');
const temp = useTempDirs();

async function logitsOf(modelDir: string): Promise<Float32Array> {
  const out = temp('lookout-bf16-onnx-');
  await buildModel(modelDir, { outDir: out });
  const engine = await OnnxEngine.load(out);
  try {
    const { inputIds, vision } = await readCaseInputs(CASE);
    const s = await engine.prefill(inputIds, vision, { allLogits: true });
    return s.allLogits;
  } finally {
    await engine.dispose();
  }
}

describe('BF16 checkpoints', () => {
  it('tiny-a stored as BF16 gives exactly the logits of the same weights widened to F32', async () => {
    const bf16 = temp('lookout-bf16-');
    const f32 = temp('lookout-bf16w-');
    await writeBf16Variant(CASE, bf16, 'BF16');
    await writeBf16Variant(CASE, f32, 'F32');
    const a = await logitsOf(bf16);
    const b = await logitsOf(f32);
    expect(a.length).toBe(12 * 128256);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  }, 60_000);
});
