import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getLlama, type Token } from 'node-llama-cpp';
import { writeTinyCheckpoint } from '../tiny/index.js';
import { buildModel } from '../onnx/build.js';
import { OnnxEngine } from '../onnx/engine.js';
import { useTempDirs } from '../testing/temp-dirs.js';
import { decodeGgml, encodeGgml, GgufError, GgufMetadata, permuteForRope, writeGguf, writeLlamaGguf } from './index.js';

const temp = useTempDirs();

function topIds(values: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((a, b) => values[b] - values[a])
    .slice(0, k);
}

function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp(logits[i] - max);
  return p.map((v) => v / sum);
}

describe('GGUF writer', () => {
  it('Q4_0 and Q8_0 blocks decode to within one step of the input', () => {
    const x = new Float32Array(96).map((_, i) => Math.sin(i * 1.7) * (i % 7));
    // Q4_0's step is max|x| / 8 (values on the far side of zero can clip at +7 steps: a whole
    // step off); Q8_0 rounds to half a step of max|x| / 127.
    for (const [type, bound] of [['Q4_0', 1 / 8], ['Q8_0', 0.5 / 127]] as const) {
      const bytes = encodeGgml(type, x);
      expect(bytes.length).toBe(3 * (type === 'Q4_0' ? 18 : 34));
      const y = decodeGgml(type, bytes, x.length);
      for (let b = 0; b < 3; b++) {
        const block = x.subarray(b * 32, b * 32 + 32);
        const amax = Math.max(...block.map(Math.abs));
        for (let j = 0; j < 32; j++) expect(Math.abs(y[b * 32 + j] - block[j])).toBeLessThanOrEqual(amax * bound * 1.01 + 1e-6);
      }
    }
    expect(() => encodeGgml('Q4_0', new Float32Array(40))).toThrow(GgufError);
  });

  it('permutes q/k rows from rotate-half pairs to adjacent pairs, per head', () => {
    // 2 heads of head_dim 4, one column: HF rows [a0 a1 b0 b1] pair (a0,b0), (a1,b1).
    const w = Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13]);
    expect([...permuteForRope(w, 2, 4, 1)]).toEqual([0, 2, 1, 3, 10, 12, 11, 13]);
  });

  it('writes the header, metadata and aligned tensor data; refuses a wrong byte count', async () => {
    const dir = temp('lookout-gguf-');
    const meta = new GgufMetadata().str('general.architecture', 'llama').u32('llama.block_count', 1);
    expect(() => meta.u32('llama.block_count', 2)).toThrow(GgufError);
    const path = join(dir, 'a.gguf');
    await writeGguf(path, meta, [{ name: 'x', dims: [3], type: 'F32', data: async function* () { yield encodeGgml('F32', Float32Array.from([1, 2, 3])); } }]);
    const b = await readFile(path);
    expect(b.subarray(0, 4).toString('latin1')).toBe('GGUF');
    expect(b.readUInt32LE(4)).toBe(3);
    expect(Number(b.readBigUInt64LE(8))).toBe(1);
    expect(Number(b.readBigUInt64LE(16))).toBe(2);
    expect(b.length % 32).toBe(0);
    expect([...new Float32Array(b.buffer.slice(b.byteOffset + b.length - 32, b.byteOffset + b.length - 20))]).toEqual([1, 2, 3]);
    await expect(
      writeGguf(join(dir, 'b.gguf'), new GgufMetadata(), [{ name: 'x', dims: [3], type: 'F32', data: async function* () { yield new Uint8Array(8); } }]),
    ).rejects.toMatchObject({ code: 'GGUF_BAD_SHAPE' });
  });

  it('refuses an Mllama checkpoint with a typed error', async () => {
    const dir = temp('lookout-gguf-mllama-');
    await writeTinyCheckpoint(dir, { arch: 'mllama', tokenizer: false });
    await expect(writeLlamaGguf(dir, join(dir, 'm.gguf'), { type: 'F32' })).rejects.toMatchObject({ code: 'GGUF_UNSUPPORTED_ARCH' });
    await expect(writeLlamaGguf(dir, join(dir, 'm.gguf'), { type: 'Q5_K' as never })).rejects.toMatchObject({ code: 'GGUF_BAD_TYPE' });
  });

  it('llama.cpp on the F32 GGUF gives the greedy tokens and top-5 of Lookout fp32', async () => {
    // Llama 3 sizes in small: head_dim 16 (GroupQueryAttention), GQA 4:2, llama3 rope scaling.
    // Seed 6: fp32's top two logits are at least 0.18 apart at each of the 12 greedy steps, so a
    // rounding difference cannot swap them (other seeds have near-ties of 0.01).
    const model = temp('lookout-gguf-llama-');
    await writeTinyCheckpoint(model, { arch: 'llama', seed: 6, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128 });
    const gguf = join(model, 'model-f32.gguf');
    await writeLlamaGguf(model, gguf, { type: 'F32' });
    const out = temp('lookout-gguf-onnx-');
    await buildModel(model, { outDir: out, dtype: 'fp32' });

    const prompt = [128000, 9906, 1917, 11, 420, 374, 264, 1296, 13, 578, 4062, 14198];
    const steps = 12;
    const engine = await OnnxEngine.load(out, { executionProvider: 'cpu' });
    let ours: number[];
    let firstProbs: Float64Array;
    try {
      const s = await engine.prefill(prompt);
      firstProbs = softmax(s.logits);
      ours = await s.greedy(steps);
      s.dispose();
    } finally {
      await engine.dispose();
    }

    const llama = await getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: 'error' as never });
    const m = await llama.loadModel({ modelPath: gguf });
    try {
      expect(m.tokenize('Hello world, this is a test.')).toEqual(prompt.slice(1, 9));
      // f32 K/V and no flash attention: llama.cpp's defaults round attention through f16.
      const ctx = await m.createContext({ contextSize: 128, threads: 2, batchSize: 64, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
      try {
        const seq = ctx.getSequence();
        const theirs: number[] = [];
        for await (const t of seq.evaluate(prompt as Token[], { temperature: 0 })) {
          theirs.push(t);
          if (theirs.length === steps) break;
        }
        expect(theirs).toEqual(ours);
        seq.dispose();

        const seq2 = ctx.getSequence();
        const gen = seq2.evaluateWithMetadata(prompt as Token[], { probabilities: true }, { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1 });
        const { value } = await gen.next();
        await gen.return();
        const probs = [...(value as { probabilities: Map<Token, number> }).probabilities.entries()].sort((a, b) => b[1] - a[1]);
        expect(probs.slice(0, 5).map(([id]) => id)).toEqual(topIds(firstProbs, 5));
        for (const [id, p] of probs.slice(0, 5)) expect(Math.abs(p - firstProbs[id])).toBeLessThan(2e-4);
      } finally {
        await ctx.dispose();
      }
    } finally {
      await m.dispose();
    }
  }, 60_000);
});
