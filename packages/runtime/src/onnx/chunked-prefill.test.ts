import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildModel } from './build.js';
import { OnnxEngine } from './engine.js';
import { OnnxError } from './errors.js';
import { maxAbsDiff, readCaseInputs } from './verify.js';
import { writeTinyCheckpoint } from '../tiny/index.js';
import type { VisionInputs } from '../model/engine.js';
import { useTempDirs } from '../testing/temp-dirs.js';

const temp = useTempDirs();
const TINY_A = join(import.meta.dirname, '../../../../../shared/reference/mllama/tiny-a');
const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => (from + i * 7) % 250);

/** Counts the decoder's forward runs and the prompt tokens each one took. */
function spyRuns(engine: OnnxEngine): { lengths: number[]; restore: () => void } {
  const decoder = (engine as unknown as { decoder: ort.InferenceSession }).decoder;
  const run = decoder.run.bind(decoder);
  const lengths: number[] = [];
  const spy = vi.spyOn(decoder, 'run').mockImplementation(((feeds: Record<string, ort.Tensor>, fetches: string[]) => {
    lengths.push(feeds.input_ids.dims[1] as number);
    return run(feeds, fetches);
  }) as never);
  return { lengths, restore: () => spy.mockRestore() };
}

for (const fused of [true, false]) {
  describe(`chunked prefill on a text model (${fused ? 'GroupQueryAttention, head_dim 16' : 'plain-op attention'})`, () => {
    let whole: OnnxEngine;
    let chunked: OnnxEngine;
    beforeAll(async () => {
      const model = temp('lookout-chunk-');
      await writeTinyCheckpoint(model, { arch: 'llama', seed: 5, hidden: 64, heads: 4, kvHeads: 2, layers: 3, intermediate: 96, tokenizer: false });
      const out = (await buildModel(model, { outDir: temp('lookout-chunk-onnx-'), fused })).outDir;
      whole = await OnnxEngine.load(out, { prefixCache: false, prefillChunkTokens: 4096 });
      chunked = await OnnxEngine.load(out, { prefixCache: false, prefillChunkTokens: 16 });
    }, 60_000);
    afterAll(async () => {
      await whole?.dispose();
      await chunked?.dispose();
    });

    it('feeds a long prompt in chunks with the logits and tokens of one run', async () => {
      const prompt = ids(3, 75);
      const runs = spyRuns(chunked);
      const a = await chunked.prefill(prompt);
      runs.restore();
      expect(runs.lengths).toEqual([16, 16, 16, 16, 11]);
      const b = await whole.prefill(prompt);
      expect(a.length).toBe(75);
      expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-4);
      expect(await a.greedy(6)).toEqual(await b.greedy(6));
      a.dispose();
      b.dispose();
    });

    it('joins every chunk’s logits when all positions are asked for', async () => {
      const prompt = ids(11, 40);
      const a = await chunked.prefill(prompt, undefined, { allLogits: true });
      const b = await whole.prefill(prompt, undefined, { allLogits: true });
      expect(a.allLogits.length).toBe(40 * whole.vocabSize);
      expect(maxAbsDiff(a.allLogits, b.allLogits)).toBeLessThan(1e-4);
      a.dispose();
      b.dispose();
    });

    it('stops between chunks when the signal aborts', async () => {
      const controller = new AbortController();
      const decoder = (chunked as unknown as { decoder: ort.InferenceSession }).decoder;
      const run = decoder.run.bind(decoder);
      let calls = 0;
      const spy = vi.spyOn(decoder, 'run').mockImplementation(((feeds: Record<string, ort.Tensor>, fetches: string[]) => {
        if (++calls === 2) controller.abort();
        return run(feeds, fetches);
      }) as never);
      try {
        await expect(chunked.prefill(ids(5, 80), undefined, { signal: controller.signal })).rejects.toMatchObject({ code: 'ONNX_ABORTED' });
        expect(calls).toBe(2);
      } finally {
        spy.mockRestore();
      }
    });
  });
}

describe('chunk length', () => {
  it('shrinks the chunk so that one layer’s attention scores stay within the budget', async () => {
    const model = temp('lookout-chunk-len-');
    await writeTinyCheckpoint(model, { arch: 'llama', seed: 5, hidden: 64, heads: 4, kvHeads: 2, layers: 1, intermediate: 96, tokenizer: false });
    // 4 heads × 4 bytes: 1 MiB of scores fits 65536 (chunk × columns) cells.
    const budget = { prefillChunkTokens: 512, prefillScoreBytes: 2 ** 20 };
    const engine = await OnnxEngine.load((await buildModel(model, { outDir: temp('lookout-chunk-len-onnx-') })).outDir, budget);
    try {
      // Columns: the positions so far plus the chunk, or the image tokens when more.
      expect(engine.prefillChunkLength(0, 100)).toBe(100);
      expect(engine.prefillChunkLength(0, 5000)).toBe(128); // 65536 / 512 columns
      expect(engine.prefillChunkLength(1000, 5000)).toBe(43); // 65536 / 1512
      expect(engine.prefillChunkLength(100_000, 5000)).toBe(32); // never below 32
      expect(engine.prefillChunkLength(100_000, 3)).toBe(3);
      expect(engine.prefillChunkLength(0, 50, 1024)).toBe(50);
      expect(engine.prefillChunkLength(0, 5000, 4096)).toBe(32); // 65536 / 4096 image tokens, at least 32
      expect(engine.prefillChunkLength(0, 5000, 1024)).toBe(64); // 65536 / 1024 image tokens
    } finally {
      await engine.dispose();
    }
    await expect(OnnxEngine.load(model, { prefillChunkTokens: 0 })).rejects.toBeInstanceOf(OnnxError);
  }, 60_000);
});

describe('chunked prefill with images (tiny-a, Mllama)', () => {
  it('gives the logits of one run, each chunk taking its rows of the cross-attention mask', async () => {
    const out = (await buildModel(TINY_A, { outDir: temp('lookout-chunk-mllama-') })).outDir;
    const inputs = await readCaseInputs(TINY_A);
    // The case's prompt, then text after the image (its rows repeat the last mask row).
    const tail = [791, 4062, 14198, 1234, 99, 100, 101, 102, 103, 104, 105, 106];
    const prompt = [...inputs.inputIds, ...tail];
    const rows = inputs.vision!.crossAttentionMask;
    const vision: VisionInputs = { ...inputs.vision!, crossAttentionMask: [...rows, ...tail.map(() => rows[rows.length - 1])] };
    const whole = await OnnxEngine.load(out, { prefixCache: false, prefillChunkTokens: 4096 });
    const chunked = await OnnxEngine.load(out, { prefixCache: false, prefillChunkTokens: 5 });
    try {
      const encode = vi.spyOn(chunked, 'encodeImages');
      const a = await chunked.prefill(prompt, vision, { allLogits: true });
      expect(encode).toHaveBeenCalledTimes(1); // the images are encoded once, not per chunk
      const b = await whole.prefill(prompt, vision, { allLogits: true });
      expect(maxAbsDiff(a.allLogits, b.allLogits)).toBeLessThan(1e-4);
      expect(await a.greedy(5)).toEqual(await b.greedy(5));
    } finally {
      await whole.dispose();
      await chunked.dispose();
    }
  }, 60_000);
});
