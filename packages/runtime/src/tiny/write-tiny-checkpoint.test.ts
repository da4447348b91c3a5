import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelDirectory } from '../files/index.js';
import { LlamaTokenizer } from '../tokenizer/index.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, SafetensorsFile } from '../weights/index.js';
import { HAVE_REFERENCE, REFERENCE_MLLAMA } from '../testing/safetensors-helpers.js';
import { preprocessorConfig, pythonFloat, toConfigJson } from './configs.js';
import { TinyCheckpointError } from './errors.js';
import { writeTinyCheckpoint } from './write-tiny-checkpoint.js';
import { resolveTinySizes, type TinyCheckpointOptions } from './sizes.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lookout-tiny-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
async function tiny(options: TinyCheckpointOptions) {
  const dir = path.join(root, `m${counter++}`);
  return writeTinyCheckpoint(dir, options);
}

const layout = (f: SafetensorsFile) => f.tensors.map((t) => `${t.name} ${t.dtype} [${t.shape.join(',')}] @${t.byteOffset}`);
const refConfig = (name: string) => JSON.parse(readFileSync(path.join(REFERENCE_MLLAMA, name, 'config.json'), 'utf8'));
const readJson = async (dir: string, name: string) => JSON.parse(await readFile(path.join(dir, name), 'utf8'));

describe.skipIf(!HAVE_REFERENCE)('writeTinyCheckpoint matches the reference layout', () => {
  it('defaults reproduce tiny-a: same config.json, tensor names, shapes and byte offsets', async () => {
    const t = await tiny({ arch: 'mllama', tokenizer: false });
    expect(await readJson(t.dir, 'config.json')).toEqual(refConfig('tiny-a'));
    // Byte for byte too: Python floats keep their decimal point ("factor": 8.0, "rms_norm_eps": 1e-05).
    expect(await readFile(path.join(t.dir, 'config.json'), 'utf8')).toBe(readFileSync(path.join(REFERENCE_MLLAMA, 'tiny-a', 'config.json'), 'utf8'));
    const mine = await SafetensorsFile.open(path.join(t.dir, 'model.safetensors'));
    const ref = await SafetensorsFile.open(path.join(REFERENCE_MLLAMA, 'tiny-a', 'model.safetensors'));
    expect(layout(mine)).toEqual(layout(ref));
    expect(mine.fileSize).toBe(ref.fileSize);
    expect(mine.metadata).toEqual({ format: 'pt' });
    await mine.close();
    await ref.close();
  });

  it('the tiny-text sizes reproduce tiny-text', async () => {
    const t = await tiny({
      arch: 'mllama',
      tokenizer: false,
      kvHeads: 1,
      intermediate: 64,
      crossAttentionLayers: [1, 4],
      vision: { layers: 2, globalLayers: 1, intermediateLayersIndices: [1] },
    });
    expect(await readJson(t.dir, 'config.json')).toEqual(refConfig('tiny-text'));
    expect(await readFile(path.join(t.dir, 'config.json'), 'utf8')).toBe(readFileSync(path.join(REFERENCE_MLLAMA, 'tiny-text', 'config.json'), 'utf8'));
    const mine = await SafetensorsFile.open(path.join(t.dir, 'model.safetensors'));
    const ref = await SafetensorsFile.open(path.join(REFERENCE_MLLAMA, 'tiny-text', 'model.safetensors'));
    expect(layout(mine)).toEqual(layout(ref));
    await mine.close();
    await ref.close();
  });
});

describe('config files are written as save_pretrained writes them', () => {
  it('pythonFloat matches Python repr(float)', () => {
    const cases: Array<[number, string]> = [
      [8, '8.0'], [0, '0.0'], [-0, '-0.0'], [500000, '500000.0'], [0.02, '0.02'], [1e-5, '1e-05'], [1.234e-5, '1.234e-05'],
      [0.0001, '0.0001'], [1e15, '1000000000000000.0'], [1e16, '1e+16'], [1.5e16, '1.5e+16'], [-2.5, '-2.5'], [0.00392156862745098, '0.00392156862745098'],
    ];
    for (const [x, text] of cases) expect(pythonFloat(x), String(x)).toBe(text);
    expect(() => pythonFloat(Number.NaN)).toThrow(RangeError);
  });

  it('writes float fields as floats, other numbers as integers, sorted keys and Python string escapes', () => {
    const text = toConfigJson({ rope_theta: 500000, rope_scaling: { factor: 8, original_max_position_embeddings: 8192 }, image_mean: [0.5, 1], top_k: 50, pruned_heads: {}, ids: [], name: 'caf\u00e9' });
    expect(text).toBe(
      '{\n  "ids": [],\n  "image_mean": [\n    0.5,\n    1.0\n  ],\n  "name": "caf\\u00e9",\n  "pruned_heads": {},\n' +
        '  "rope_scaling": {\n    "factor": 8.0,\n    "original_max_position_embeddings": 8192\n  },\n  "rope_theta": 500000.0,\n  "top_k": 50\n}\n',
    );
    expect(JSON.parse(text).rope_scaling.factor).toBe(8);
  });

  it.skipIf(!HAVE_REFERENCE)('the 560 px preprocessor config equals the reference file byte for byte', () => {
    const ref = readFileSync(path.join(REFERENCE_MLLAMA, '..', 'image_processor', 'preprocessor_config.json'), 'utf8');
    expect(toConfigJson(preprocessorConfig(4, 560))).toBe(ref.endsWith('\n') ? ref : `${ref}\n`);
  });
});

describe('writeTinyCheckpoint', () => {
  it('is deterministic: the same seed gives identical bytes, another seed other weights', async () => {
    const a = await tiny({ arch: 'mllama', seed: 7, tokenizer: false, vision: { maxNumTiles: 2 } });
    const b = await tiny({ arch: 'mllama', seed: 7, tokenizer: false, vision: { maxNumTiles: 2 } });
    const c = await tiny({ arch: 'mllama', seed: 8, tokenizer: false, vision: { maxNumTiles: 2 } });
    expect(await readdir(a.dir)).toEqual(await readdir(b.dir));
    for (const f of a.files) expect((await readFile(path.join(a.dir, f))).equals(await readFile(path.join(b.dir, f)))).toBe(true);
    expect(await readFile(path.join(c.dir, 'config.json'), 'utf8')).toBe(await readFile(path.join(a.dir, 'config.json'), 'utf8'));
    expect((await readFile(path.join(c.dir, 'model.safetensors'))).equals(await readFile(path.join(a.dir, 'model.safetensors')))).toBe(false);
  });

  it('initialises like the reference: live gates, norms near 1, scaled matrices and lm_head', async () => {
    const t = await tiny({ arch: 'mllama', seed: 3, tokenizer: false });
    const st = await SafetensorsFile.open(path.join(t.dir, 'model.safetensors'));
    const stats = async (name: string) => {
      const v = await st.readTensor(name);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
      return { mean, std, v };
    };
    const gates = st.tensors.filter((x) => /gate$|_gate$|gate_(attn|ffn)$/.test(x.name));
    expect(gates.length).toBe(11);
    const signs = new Set<number>();
    for (const g of gates) {
      const [x] = await st.readTensor(g.name);
      expect(Math.abs(x)).toBeGreaterThanOrEqual(0.5);
      expect(Math.abs(x)).toBeLessThanOrEqual(1.5);
      signs.add(Math.sign(x));
    }
    expect(signs.size).toBe(2);
    const embed = await stats('language_model.model.embed_tokens.weight');
    expect(Math.abs(embed.mean)).toBeLessThan(0.01);
    expect(embed.std).toBeCloseTo(1, 2);
    expect((await stats('language_model.lm_head.weight')).std).toBeCloseTo(4 / Math.sqrt(32), 2);
    expect((await stats('language_model.model.layers.0.mlp.down_proj.weight')).std).toBeCloseTo(1 / Math.sqrt(128), 1);
    expect((await stats('vision_model.patch_embedding.weight')).std).toBeCloseTo(1 / Math.sqrt(3 * 14 * 14), 2);
    const norm = await stats('language_model.model.norm.weight');
    expect(norm.mean).toBeGreaterThan(0.85);
    expect(norm.mean).toBeLessThan(1.15);
    expect((await stats('vision_model.gated_positional_embedding.tile_embedding.weight')).std).toBeCloseTo(0.5, 1);
    await st.close();
  });

  it('stores bf16 and f16 as the rounded f32 weights of the same seed', async () => {
    const f32 = await tiny({ arch: 'llama', seed: 11, tokenizer: false, layers: 1 });
    const ref = await SafetensorsFile.open(path.join(f32.dir, 'model.safetensors'));
    for (const dtype of ['bf16', 'f16'] as const) {
      const half = await tiny({ arch: 'llama', seed: 11, tokenizer: false, layers: 1, dtype });
      expect((await readJson(half.dir, 'config.json')).torch_dtype).toBe(dtype === 'bf16' ? 'bfloat16' : 'float16');
      const st = await SafetensorsFile.open(path.join(half.dir, 'model.safetensors'));
      for (const t of st.tensors) {
        expect(t.dtype).toBe(dtype.toUpperCase());
        const original = await ref.readTensor(t.name);
        const expected = dtype === 'bf16' ? bf16BitsToF32(f32ToBf16Bits(original)) : f16BitsToF32(f32ToF16Bits(original));
        const got = await st.readTensor(t.name);
        expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(expected.buffer))).toBe(true);
      }
      await st.close();
    }
    await ref.close();
  });

  it('writes a LlamaForCausalLM checkpoint that loads with every file required', async () => {
    const t = await tiny({ arch: 'llama', seed: 1, layers: 2, tieWordEmbeddings: true });
    expect(t.files).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const m = await loadModelDirectory(t.dir, { require: ['tokenizer', 'generation', 'weights'] });
    expect(m.config.arch).toBe('llama');
    expect(m.config.text).toMatchObject({ hidden: 32, layers: 2, heads: 4, kvHeads: 2, headDim: 8, vocabSize: 128256, tieWordEmbeddings: true });
    expect(m.generation.eosTokenIds).toEqual([128001, 128008, 128009]);
    expect(m.chatTemplate).toContain('<|start_header_id|>');
    const st = await SafetensorsFile.open(path.join(t.dir, 'model.safetensors'));
    expect(st.info('model.embed_tokens.weight').shape).toEqual([128256, 32]);
    expect(st.has('lm_head.weight')).toBe(false);
    expect(st.info('model.layers.1.self_attn.k_proj.weight').shape).toEqual([16, 32]);
    expect(st.tensors.length).toBe(2 + 2 * 9);
    await st.close();
    const tok = await LlamaTokenizer.fromDirectory(t.dir);
    expect(tok.specialIds.image).toBeUndefined();
    expect(tok.encode('<|begin_of_text|>Hello', { allowSpecial: true })).toEqual([128000, 9906]);
  });

  it('writes an Mllama checkpoint whose tokenizer knows <|image|> = 128256 and whose files all load', async () => {
    const t = await tiny({ arch: 'mllama', seed: 2, vision: { maxNumTiles: 2 } });
    const m = await loadModelDirectory(t.dir, { require: ['tokenizer', 'generation', 'preprocessor', 'weights'] });
    expect(m.config.vision!.supportedAspectRatios).toEqual([[1, 1], [1, 2], [2, 1]]);
    expect(m.preprocessor).toMatchObject({ size: { height: m.config.vision!.imageSize, width: m.config.vision!.imageSize }, maxImageTiles: 2, imageMean: [0.48145466, 0.4578275, 0.40821073] });
    expect(m.config.vision!.imageSize).toBe(28);
    const st = await SafetensorsFile.open(path.join(t.dir, 'model.safetensors'));
    expect(st.info('vision_model.gated_positional_embedding.tile_embedding.weight').shape).toEqual([4, 2 * 5 * 32]);
    expect(st.info('language_model.model.embed_tokens.weight').shape).toEqual([128264, 32]);
    await st.close();
    const tok = await LlamaTokenizer.fromDirectory(t.dir);
    expect(tok.specialIds.image).toBe(128256);
  });

  it('refuses inconsistent sizes with the option named', () => {
    const cases: Array<[TinyCheckpointOptions, string]> = [
      [{ arch: 'mllama', heads: 3 }, 'heads'],
      [{ arch: 'mllama', kvHeads: 3 }, 'kvHeads'],
      [{ arch: 'mllama', layers: 3, crossAttentionLayers: [3] }, 'crossAttentionLayers'],
      [{ arch: 'llama', vision: { hidden: 16 } }, 'vision'],
      [{ arch: 'mllama', vision: { heads: 5 } }, 'vision.heads'],
      [{ arch: 'mllama', vision: { imageSize: 30 } }, 'vision.imageSize'],
      [{ arch: 'mllama', dtype: 'f8' as 'f32' }, 'dtype'],
      [{ arch: 'gpt' as 'llama' }, 'arch'],
      [{ arch: 'llama', seed: -1 }, 'seed'],
    ];
    for (const [options, option] of cases) {
      let err: unknown;
      try {
        resolveTinySizes(options);
      } catch (e) {
        err = e;
      }
      expect(err, option).toBeInstanceOf(TinyCheckpointError);
      expect((err as TinyCheckpointError).option).toBe(option);
      expect((err as TinyCheckpointError).code).toBe('TINY_OPTIONS_INVALID');
    }
  });
});
