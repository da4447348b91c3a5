import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { buildModel } from './build.js';
import { OnnxEngine } from './engine.js';
import { maxAbsDiff } from './verify.js';
import { ElemType } from './graph-builder.js';
import { writeTinyCheckpoint } from '../tiny/index.js';
import type { VisionInputs } from '../model/engine.js';
import { useTempDirs } from '../testing/temp-dirs.js';

const { onnx } = onnxProto;
const temp = useTempDirs();

// head_dim 16: self-attention runs as GroupQueryAttention (its CPU kernel needs head_dim % 16 == 0).
const SIZES = { arch: 'mllama' as const, seed: 7, hidden: 64, heads: 4, kvHeads: 2, layers: 5, intermediate: 96, tokenizer: false };

function load(path: string): onnxProto.onnx.IModelProto {
  return onnx.ModelProto.decode(readFileSync(path));
}

function allGraphs(g: onnxProto.onnx.IGraphProto): onnxProto.onnx.IGraphProto[] {
  const sub = (g.node ?? []).flatMap((n) => (n.attribute ?? []).filter((a) => a.g).map((a) => a.g!));
  return [g, ...sub.flatMap(allGraphs)];
}

function range(v: Float32Array): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  return hi - lo;
}

function elemOf(v: onnxProto.onnx.IValueInfoProto): number {
  return v.type?.tensorType?.elemType ?? -1;
}

function imageInputs(numTiles: number, tileSize: number, promptLength: number): VisionInputs {
  const pixels = new Float32Array(numTiles * 3 * tileSize * tileSize).map((_, i) => Math.sin(i * 0.37));
  return {
    pixelValues: pixels,
    numImages: 1,
    maxTiles: numTiles,
    tileSize,
    aspectRatioIds: [1],
    aspectRatioMask: [[1, ...new Array(numTiles - 1).fill(0)]],
    crossAttentionMask: Array.from({ length: promptLength }, (_, t) => [[t >= 1 ? 1 : 0, ...new Array(numTiles - 1).fill(0)]]),
  };
}

describe('fp16 builds compute in half precision', () => {
  let model: string;
  let fp16: string;
  let fp32: string;
  beforeAll(async () => {
    model = temp('lookout-fp16-model-');
    await writeTinyCheckpoint(model, SIZES);
    fp16 = (await buildModel(model, { dtype: 'fp16', outDir: temp('lookout-fp16-') })).outDir;
    fp32 = (await buildModel(model, { dtype: 'fp32', outDir: temp('lookout-fp32-') })).outDir;
  }, 120_000);

  it('stores every weight in f16, never widens one, and keeps the KV cache and cross K/V in f16', () => {
    const manifest = JSON.parse(readFileSync(join(fp16, 'lookout-onnx.json'), 'utf8'));
    expect(manifest.computeType).toBe('float16');
    for (const file of ['decoder.onnx', 'vision.onnx']) {
      const m = load(join(fp16, file));
      const root = m.graph!;
      const external = (root.initializer ?? []).filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL);
      const floats = external.filter((t) => t.dataType === ElemType.float32 || t.dataType === ElemType.float16);
      expect(floats.length).toBeGreaterThan(10);
      // Every float weight in the data file is half; only the rotary/constant tables may not be.
      const wide = floats.filter((t) => t.dataType === ElemType.float32).map((t) => t.name);
      expect(wide).toEqual([]);
      const initializers = new Set((root.initializer ?? []).map((t) => t.name));
      for (const g of allGraphs(root)) {
        for (const n of g.node ?? []) {
          if (n.opType === 'Cast') expect(initializers.has(n.input![0]), `${n.name} casts weight ${n.input![0]}`).toBe(false);
        }
      }
    }
    const dec = load(join(fp16, 'decoder.onnx')).graph!;
    const inputs = new Map((dec.input ?? []).map((v) => [v.name!, elemOf(v)]));
    const outputs = new Map((dec.output ?? []).map((v) => [v.name!, elemOf(v)]));
    expect(inputs.get('past_key_values.0.key')).toBe(ElemType.float16);
    expect(inputs.get('cross_key_values.1.key')).toBe(ElemType.float16);
    expect(inputs.get('cross_attention_mask')).toBe(ElemType.float32);
    expect(outputs.get('present.0.key')).toBe(ElemType.float16);
    expect(outputs.get('logits')).toBe(ElemType.float32);
    expect((dec.node ?? []).some((n) => n.opType === 'GroupQueryAttention')).toBe(true);
    const vis = load(join(fp16, 'vision.onnx')).graph!;
    const vOut = new Map((vis.output ?? []).map((v) => [v.name!, elemOf(v)]));
    expect(vOut.get('cross_key_values.1.key')).toBe(ElemType.float16);
    expect(vOut.get('cross_attention_states')).toBe(ElemType.float32);
  });

  it('halves the build files', () => {
    const size = (d: string) => readFileSync(join(d, 'weights.onnx.data')).byteLength;
    expect(size(fp16) / size(fp32)).toBeGreaterThan(0.45);
    expect(size(fp16) / size(fp32)).toBeLessThan(0.55);
  });

  it('agrees with the fp32 build on a text prompt and on an image prompt, and the in-graph loop matches step by step', async () => {
    const a = await OnnxEngine.load(fp16);
    const b = await OnnxEngine.load(fp32);
    try {
      const ids = [128000, 791, 4062, 14198, 39935, 35308, 927, 279, 16053, 5679];
      const text16 = await a.prefill(ids, undefined, { allLogits: true });
      const text32 = await b.prefill(ids, undefined, { allLogits: true });
      const spread = range(text32.allLogits);
      expect(spread).toBeGreaterThan(1);
      // Half-precision activations: 0.022 of a range of 40 (5e-4) measured on these random weights.
      expect(maxAbsDiff(text16.allLogits, text32.allLogits)).toBeLessThan(0.01 * spread);

      const tile = a.spec.vision!.imageSize;
      const withImage = [128000, 128256, 791, 4062, 14198, 39935];
      const vision = imageInputs(a.spec.vision!.maxNumTiles, tile, withImage.length);
      const img16 = await a.prefill(withImage, vision, { allLogits: true });
      const img32 = await b.prefill(withImage, vision, { allLogits: true });
      const imgSpread = range(img32.allLogits);
      expect(maxAbsDiff(img16.allLogits, img32.allLogits)).toBeLessThan(0.01 * imgSpread);
      // The image changes the f16 logits as it changes the f32 ones (the cross layers ran).
      const textOnly16 = await a.prefill(withImage.filter((t) => t !== 128256), undefined, { allLogits: true });
      expect(maxAbsDiff(img16.logits, textOnly16.logits)).toBeGreaterThan(10 * maxAbsDiff(img16.logits, img32.logits));

      // 12 tokens in one run through the f16 Loop equal 12 single steps of the same f16 graph.
      const looped = await a.prefill(withImage, vision);
      const chunk = await looped.greedy(12);
      const stepped = await a.prefill(withImage, vision);
      const one: number[] = [];
      let logits = stepped.logits;
      for (let i = 0; i < 12; i++) {
        let best = 0;
        for (let j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
        one.push(best);
        logits = await stepped.step(best);
      }
      expect(chunk).toEqual(one);
      // The loop body and the outer graph are optimised separately: a few f16 ulps (1/64 at 16).
      expect(maxAbsDiff(looped.logits, stepped.logits)).toBeLessThan(1 / 16);
    } finally {
      await a.dispose();
      await b.dispose();
    }
  }, 120_000);

  it('int4 with f16 compute (the CUDA int4 build) runs MatMulNBits in f16 and agrees with int4 in f32', async () => {
    const i4f16 = (await buildModel(model, { dtype: 'int4', compute: 'f16', outDir: temp('lookout-int4-f16-') })).outDir;
    const i4f32 = (await buildModel(model, { dtype: 'int4', outDir: temp('lookout-int4-f32-') })).outDir;
    const dec = load(join(i4f16, 'decoder.onnx')).graph!;
    const types = new Map((dec.initializer ?? []).map((t) => [t.name!, t.dataType]));
    const nbits = (dec.node ?? []).filter((n) => n.opType === 'MatMulNBits');
    expect(nbits.length).toBeGreaterThan(10);
    for (const n of nbits) expect(types.get(n.input![2]), `${n.name} scales`).toBe(ElemType.float16);
    expect(new Map((dec.input ?? []).map((v) => [v.name!, elemOf(v)])).get('past_key_values.0.key')).toBe(ElemType.float16);
    await expect(buildModel(model, { dtype: 'fp32', compute: 'f16', outDir: temp('lookout-bad-') })).rejects.toMatchObject({ code: 'ONNX_BAD_DTYPE' });

    const a = await OnnxEngine.load(i4f16);
    const b = await OnnxEngine.load(i4f32);
    try {
      const ids = [128000, 791, 4062, 14198, 39935, 35308, 927, 279, 16053, 5679];
      const x = await a.prefill(ids, undefined, { allLogits: true });
      const y = await b.prefill(ids, undefined, { allLogits: true });
      expect(maxAbsDiff(x.allLogits, y.allLogits)).toBeLessThan(0.01 * range(y.allLogits));
      expect((await x.greedy(8)).length).toBe(8);
    } finally {
      await a.dispose();
      await b.dispose();
    }
  }, 120_000);
});
