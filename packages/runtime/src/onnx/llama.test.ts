import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { buildModel } from './build.js';
import { OnnxEngine } from './engine.js';
import { readModelSpec } from './config.js';
import { argmax, maxAbsDiff } from './verify.js';
import { loadAllWeights, writeTinyLlama } from '../testing/checkpoints.js';
import { referenceDecoder } from '../testing/reference-forward.js';
import { useTempDirs } from '../testing/temp-dirs.js';

const temp = useTempDirs();

describe('LlamaForCausalLM (decoder only)', () => {
  // head_dim 8 runs the plain attention fallback; head_dim 16 runs GroupQueryAttention.
  for (const variant of [
    { tied: false, dtype: 'F32' as const, hidden: 32, fused: true },
    { tied: true, dtype: 'BF16' as const, hidden: 32, fused: true },
    { tied: false, dtype: 'BF16' as const, hidden: 64, fused: true },
    { tied: false, dtype: 'BF16' as const, hidden: 64, fused: false },
  ]) {
    it(`tied=${variant.tied} ${variant.dtype} head_dim=${variant.hidden / 4} fused=${variant.fused}: prefill and 8 cached greedy steps match a float64 full recompute`, async () => {
      const model = temp('lookout-llama-');
      await writeTinyLlama(model, { tied: variant.tied, dtype: variant.dtype, hidden: variant.hidden, seed: variant.tied ? 3 : 5 });
      const out = temp('lookout-llama-onnx-');
      const built = await buildModel(model, { outDir: out, fused: variant.fused });
      expect(built.manifest.fused).toBe(variant.fused);
      expect(built.manifest.spec.arch).toBe('llama');
      expect(built.manifest.vision).toBeUndefined();
      const spec = await readModelSpec(model);
      const W = await loadAllWeights(model);
      const engine = await OnnxEngine.load(out);
      try {
        const ids = [1, 17, 250, 99, 4, 300, 12];
        const s = await engine.prefill(ids, undefined, { allLogits: true });
        expect(maxAbsDiff(s.allLogits, referenceDecoder(spec, W, ids))).toBeLessThan(2e-4);
        const seq = [...ids];
        let logits = s.logits;
        for (let i = 0; i < 8; i++) {
          const ref = referenceDecoder(spec, W, seq);
          const V = spec.text.vocabSize;
          const last = ref.subarray((seq.length - 1) * V);
          expect(maxAbsDiff(logits, last)).toBeLessThan(2e-4);
          expect(argmax(logits)).toBe(argmax(last));
          seq.push(argmax(logits));
          logits = await s.step(seq[seq.length - 1]);
        }
        // The in-graph greedy loop (GroupQueryAttention inside the Loop body when fused) agrees.
        const again = await engine.prefill(ids);
        expect(await again.greedy(8)).toEqual(seq.slice(ids.length));
        await expect(engine.prefill([1, 2], { pixelValues: new Float32Array(0), numImages: 1, maxTiles: 4, tileSize: 28, aspectRatioIds: [1], aspectRatioMask: [[1, 0, 0, 0]], crossAttentionMask: [] })).rejects.toMatchObject({ code: 'ONNX_BAD_INPUT' });
      } finally {
        await engine.dispose();
      }
    }, 60_000);
  }
});
