import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildModel } from './build.js';
import { OnnxEngine } from './engine.js';
import { maxAbsDiff, readCaseInputs } from './verify.js';
import { truncateKv } from './prefix-cache.js';
import { writeTinyCheckpoint } from '../tiny/index.js';
import type { VisionInputs } from '../model/engine.js';
import { useTempDirs } from '../testing/temp-dirs.js';

const temp = useTempDirs();
const TINY_A = join(import.meta.dirname, '../../../../../shared/reference/mllama/tiny-a');
const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** The same prompt rows plus `extra` rows that repeat the last one (text after the image). */
function extendVision(v: VisionInputs, extra: number): VisionInputs {
  const last = v.crossAttentionMask[v.crossAttentionMask.length - 1];
  return { ...v, crossAttentionMask: [...v.crossAttentionMask, ...Array.from({ length: extra }, () => last)] };
}

describe('truncateKv', () => {
  it('keeps the first positions of every head, for f32 and f16 caches', () => {
    // [1, 2 heads, 3 positions, 2 dims]: value = 100 * head + 10 * position + dim
    const values = [0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121];
    const f32 = truncateKv(new ort.Tensor('float32', Float32Array.from(values), [1, 2, 3, 2]), 2);
    expect(f32.dims).toEqual([1, 2, 2, 2]);
    expect(Array.from(f32.data as Float32Array)).toEqual([0, 1, 10, 11, 100, 101, 110, 111]);
    const f16 = truncateKv(new ort.Tensor('float16', Uint16Array.from(values), [1, 2, 3, 2]), 1);
    expect(Array.from(f16.data as Uint16Array)).toEqual([0, 1, 100, 101]);
    expect(() => truncateKv(new ort.Tensor('float32', new Float32Array(12), [1, 2, 3, 2]), 4)).toThrow(RangeError);
  });
});

describe('prefix cache on a text model (GroupQueryAttention, head_dim 16)', () => {
  let buildDir: string;
  let cached: OnnxEngine;
  let fresh: OnnxEngine;
  beforeAll(async () => {
    const model = temp('lookout-prefix-');
    await writeTinyCheckpoint(model, { arch: 'llama', seed: 11, hidden: 64, heads: 4, kvHeads: 2, layers: 3, intermediate: 96, tokenizer: false });
    const out = (await buildModel(model, { outDir: temp('lookout-prefix-onnx-') })).outDir;
    buildDir = out;
    cached = await OnnxEngine.load(out);
    fresh = await OnnxEngine.load(out, { prefixCache: false });
  }, 60_000);
  afterAll(async () => {
    await cached?.dispose();
    await fresh?.dispose();
  });

  it("feeds only what follows the last session's tokens, with the logits and tokens of a fresh prefill", async () => {
    const first = await cached.prefill(ids(1000, 12));
    const reply = await first.greedy(6); // fed: 12 prompt tokens + 6 generated
    first.dispose();
    const next = [...ids(1000, 12), ...reply, ...ids(2000, 5)];
    const a = await cached.prefill(next);
    const b = await fresh.prefill(next);
    expect(a.reusedPositions).toBe(18);
    expect(b.reusedPositions).toBe(0);
    expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-4);
    expect(await a.greedy(8)).toEqual(await b.greedy(8));
    a.dispose();
    b.dispose();
  });

  it('cuts the cache back to the common prefix when the prompt changes in the middle', async () => {
    const s = await cached.prefill(ids(3000, 20));
    s.dispose();
    const changed = [...ids(3000, 9), 77, ...ids(3010, 10)];
    const a = await cached.prefill(changed);
    const b = await fresh.prefill(changed);
    expect(a.reusedPositions).toBe(9);
    expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-4);
    expect(await a.greedy(4)).toEqual(await b.greedy(4));
    a.dispose();
    b.dispose();
  });

  it('re-sending the same prompt feeds only its last token; an unrelated prompt starts afresh', async () => {
    const p = ids(4000, 10);
    (await cached.prefill(p)).dispose();
    const again = await cached.prefill(p);
    expect(again.reusedPositions).toBe(9);
    expect(maxAbsDiff(again.logits, (await fresh.prefill(p)).logits)).toBeLessThan(1e-4);
    again.dispose();
    const other = await cached.prefill(ids(5000, 10));
    expect(other.reusedPositions).toBe(0);
    other.dispose();
  });

  it('keeps several conversations within its byte budget, and an extended conversation replaces its shorter entry', async () => {
    cached.clearPrefixCache();
    const a = ids(7000, 16);
    const b = ids(8000, 16);
    (await cached.prefill(a)).dispose();
    (await cached.prefill(b)).dispose();
    expect(cached.prefixCacheStats.entries).toBe(2);
    const backToA = await cached.prefill([...a, 9, 10]);
    expect(backToA.reusedPositions).toBe(16);
    backToA.dispose(); // supersedes a's entry
    expect(cached.prefixCacheStats.entries).toBe(2);
    expect((await cached.prefill([...b, 11])).reusedPositions).toBe(16);
    cached.clearPrefixCache();
    expect(cached.prefixCacheStats).toEqual({ entries: 0, bytes: 0 });
  });

  it('with a budget of one entry, only the latest conversation stays', async () => {
    const tight = await OnnxEngine.load(buildDir, { prefixCacheBytes: 1 });
    try {
      (await tight.prefill(ids(7000, 16))).dispose();
      (await tight.prefill(ids(8000, 16))).dispose(); // evicts the first
      expect(tight.prefixCacheStats.entries).toBe(1);
      const first = await tight.prefill([...ids(7000, 16), 9]);
      expect(first.reusedPositions).toBe(0);
      first.dispose(); // evicts the second
      expect((await tight.prefill([...ids(8000, 16), 9])).reusedPositions).toBe(0);
    } finally {
      await tight.dispose();
    }
  });

  it('never reuses for all-position logits, and not after clearPrefixCache', async () => {
    const p = ids(6000, 8);
    (await cached.prefill(p)).dispose();
    expect((await cached.prefill(p, undefined, { allLogits: true })).reusedPositions).toBe(0);
    (await cached.prefill(p)).dispose();
    cached.clearPrefixCache();
    expect((await cached.prefill(p)).reusedPositions).toBe(0);
  });
});

describe('prefix cache with images (tiny-a, Mllama)', () => {
  let cached: OnnxEngine;
  let fresh: OnnxEngine;
  let prompt: number[];
  let vision: VisionInputs;
  beforeAll(async () => {
    const out = (await buildModel(TINY_A, { outDir: temp('lookout-prefix-mllama-') })).outDir;
    cached = await OnnxEngine.load(out);
    fresh = await OnnxEngine.load(out, { prefixCache: false });
    const inputs = await readCaseInputs(TINY_A);
    prompt = inputs.inputIds;
    vision = inputs.vision!;
  }, 60_000);
  afterAll(async () => {
    await cached?.dispose();
    await fresh?.dispose();
  });

  it('skips the vision encoder for the same images and matches a fresh prefill', async () => {
    const encode = vi.spyOn(cached, 'encodeImages');
    const s = await cached.prefill(prompt, vision);
    const reply = await s.greedy(4);
    s.dispose();
    expect(encode).toHaveBeenCalledTimes(1);
    const next = [...prompt, ...reply, 791, 4062, 14198];
    const nextVision = extendVision(vision, reply.length + 3);
    const a = await cached.prefill(next, nextVision);
    expect(encode).toHaveBeenCalledTimes(1); // reused, not re-encoded
    expect(a.reusedPositions).toBe(prompt.length + reply.length);
    const b = await fresh.prefill(next, nextVision);
    expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-4);
    expect(await a.greedy(6)).toEqual(await b.greedy(6));
    a.dispose();
    b.dispose();
    encode.mockRestore();
  });

  it('starts afresh when the image differs, or when the same tokens come without the image', async () => {
    (await cached.prefill(prompt, vision)).dispose();
    const other: VisionInputs = { ...vision, pixelValues: vision.pixelValues.map((x) => -x) };
    const a = await cached.prefill(prompt, other);
    expect(a.reusedPositions).toBe(0);
    const b = await fresh.prefill(prompt, other);
    expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-4);
    a.dispose();
    const textOnly = await cached.prefill(prompt.filter((t) => t !== 128256));
    expect(textOnly.reusedPositions).toBe(0);
    textOnly.dispose();
  });
});
