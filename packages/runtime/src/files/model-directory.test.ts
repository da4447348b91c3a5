import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelFileError } from './errors.js';
import { loadModelDirectory } from './model-directory.js';
import { HAVE_REFERENCE, REFERENCE_DIR, REFERENCE_MLLAMA } from '../testing/safetensors-helpers.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function modelDir(files: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lookout-files-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

async function loadError(dir: string, options?: Parameters<typeof loadModelDirectory>[1]): Promise<ModelFileError> {
  const err = await loadModelDirectory(dir, options).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ModelFileError);
  return err as ModelFileError;
}

/** A Llama 3.2 1B / Llama Guard 3 1B style LlamaForCausalLM config. */
const llamaConfig = () => ({
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 2048,
  intermediate_size: 8192,
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  head_dim: 64,
  rms_norm_eps: 1e-5,
  rope_theta: 500000.0,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  max_position_embeddings: 131072,
  vocab_size: 128256,
  tie_word_embeddings: true,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  torch_dtype: 'bfloat16',
});

const referenceConfig = (name = 'tiny-a') => JSON.parse(readFileSync(path.join(REFERENCE_MLLAMA, name, 'config.json'), 'utf8')) as Record<string, any>;

describe.skipIf(!HAVE_REFERENCE)('loadModelDirectory on the reference checkpoints', () => {
  it('normalises tiny-a config.json and generation_config.json', async () => {
    const m = await loadModelDirectory(path.join(REFERENCE_MLLAMA, 'tiny-a'));
    expect(m.config.arch).toBe('mllama');
    expect(m.config.imageTokenIndex).toBe(128256);
    expect(m.config.text).toMatchObject({
      hidden: 32,
      layers: 5,
      heads: 4,
      kvHeads: 2,
      headDim: 8,
      intermediate: 128,
      vocabSize: 128256,
      ropeTheta: 500000,
      ropeScaling: { ropeType: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
      rmsNormEps: 1e-5,
      crossAttentionLayers: [1, 3],
      tieWordEmbeddings: false,
    });
    expect(m.config.vision).toMatchObject({
      hidden: 32,
      heads: 2,
      layers: 4,
      globalLayers: 2,
      intermediate: 64,
      imageSize: 28,
      patchSize: 14,
      maxNumTiles: 4,
      intermediateLayersIndices: [1, 3],
      visionOutputDim: 96,
      normEps: 1e-5,
    });
    expect(m.config.vision!.supportedAspectRatios).toHaveLength(8);
    expect(m.generation).toMatchObject({ source: 'generation_config.json', bosTokenId: 128000, eosTokenIds: [128001], padTokenId: 128004 });
    expect(m.weights).toEqual({ sharded: false, files: [path.join(REFERENCE_MLLAMA, 'tiny-a', 'model.safetensors')] });
    expect(m.tokenizerJsonPath).toBeUndefined();
  });

  it('reads tiny-text (one kv head, cross layers [1, 4])', async () => {
    const m = await loadModelDirectory(path.join(REFERENCE_MLLAMA, 'tiny-text'));
    expect(m.config.text.kvHeads).toBe(1);
    expect(m.config.text.crossAttentionLayers).toEqual([1, 4]);
    expect(m.config.text.intermediate).toBe(64);
  });

  it('reads the real preprocessor_config.json', async () => {
    const pre = JSON.parse(readFileSync(path.join(REFERENCE_DIR, 'image_processor', 'preprocessor_config.json'), 'utf8'));
    const dir = await modelDir({ 'config.json': referenceConfig(), 'preprocessor_config.json': pre });
    const m = await loadModelDirectory(dir, { require: ['preprocessor'] });
    expect(m.preprocessor).toEqual({
      imageProcessorType: 'MllamaImageProcessor',
      doConvertRgb: true,
      doResize: true,
      doRescale: true,
      doNormalize: true,
      doPad: true,
      size: { height: 560, width: 560 },
      maxImageTiles: 4,
      resample: 2,
      rescaleFactor: 1 / 255,
      imageMean: [0.48145466, 0.4578275, 0.40821073],
      imageStd: [0.26862954, 0.26130258, 0.27577711],
    });
  });

  const malformed: Array<[string, (c: Record<string, any>) => void, string, string]> = [
    ['a missing text hidden size', (c) => delete c.text_config.hidden_size, 'text_config.hidden_size', 'it is missing'],
    ['a string layer count', (c) => (c.text_config.num_hidden_layers = '5'), 'text_config.num_hidden_layers', 'got "5"'],
    ['kv heads that do not divide heads', (c) => (c.text_config.num_key_value_heads = 3), 'text_config.num_key_value_heads', 'divisor'],
    ['a cross-attention layer past the last layer', (c) => (c.text_config.cross_attention_layers = [1, 5]), 'text_config.cross_attention_layers', 'below num_hidden_layers (5)'],
    ['llama3 rope scaling without its factors', (c) => delete c.text_config.rope_scaling.low_freq_factor, 'text_config.rope_scaling.low_freq_factor', 'missing'],
    ['vision heads not dividing hidden', (c) => (c.vision_config.attention_heads = 3), 'vision_config.attention_heads', 'divisor of hidden_size (32)'],
    ['an inconsistent vision output dim', (c) => (c.vision_config.vision_output_dim = 64), 'vision_config.vision_output_dim', '= 96'],
    ['an aspect ratio beyond max tiles', (c) => (c.vision_config.supported_aspect_ratios = [[1, 1], [3, 2]]), 'vision_config.supported_aspect_ratios', 'max_num_tiles (4)'],
    ['a missing vision config', (c) => delete c.vision_config, 'vision_config', 'an object'],
    ['a negative eos id', (c) => (c.text_config.eos_token_id = -1), 'text_config.eos_token_id', 'token id'],
  ];
  for (const [what, mutate, field, detail] of malformed) {
    it(`refuses config.json with ${what}, naming file and field`, async () => {
      const c = referenceConfig();
      mutate(c);
      const dir = await modelDir({ 'config.json': c });
      const err = await loadError(dir);
      expect(err.code).toBe('MODEL_CONFIG_INVALID');
      expect(err.field).toBe(field);
      expect(err.file).toBe(path.join(dir, 'config.json'));
      expect(err.message).toContain(path.join(dir, 'config.json'));
      expect(err.message).toContain(`"${field}"`);
      expect(err.message).toContain(detail);
    });
  }

  it('refuses an unsupported model type', async () => {
    const dir = await modelDir({ 'config.json': { ...referenceConfig(), model_type: 'qwen2_vl' } });
    const err = await loadError(dir);
    expect(err.code).toBe('MODEL_ARCH_UNSUPPORTED');
    expect(err.message).toMatch(/"qwen2_vl".*mllama.*llama/);
  });

  it('falls back to config.json token ids without generation_config.json, unless it is required', async () => {
    const dir = await modelDir({ 'config.json': referenceConfig() });
    const m = await loadModelDirectory(dir);
    expect(m.generation).toMatchObject({ source: 'config.json', bosTokenId: 128000, eosTokenIds: [128001], padTokenId: 128004 });
    const err = await loadError(dir, { require: ['generation'] });
    expect(err.code).toBe('MODEL_FILE_MISSING');
    expect(err.file).toBe(path.join(dir, 'generation_config.json'));
  });
});

describe('loadModelDirectory', () => {
  it('normalises a LlamaForCausalLM config with a list of eos ids', async () => {
    const dir = await modelDir({
      'config.json': llamaConfig(),
      'generation_config.json': { bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], do_sample: true, temperature: 0.6, top_p: 0.9 },
    });
    const m = await loadModelDirectory(dir);
    expect(m.config.arch).toBe('llama');
    expect(m.config.vision).toBeUndefined();
    expect(m.config.torchDtype).toBe('bfloat16');
    expect(m.config.text).toMatchObject({ hidden: 2048, layers: 16, heads: 32, kvHeads: 8, headDim: 64, tieWordEmbeddings: true, crossAttentionLayers: [], eosTokenId: [128001, 128008, 128009] });
    expect(m.generation).toMatchObject({ eosTokenId: [128001, 128008, 128009], eosTokenIds: [128001, 128008, 128009], doSample: true, temperature: 0.6, topP: 0.9, topK: 50 });
  });

  it('applies transformers defaults to secondary llama fields', async () => {
    const c: Record<string, unknown> = llamaConfig();
    for (const k of ['num_key_value_heads', 'head_dim', 'rms_norm_eps', 'rope_theta', 'rope_scaling', 'tie_word_embeddings', 'max_position_embeddings']) delete c[k];
    const m = await loadModelDirectory(await modelDir({ 'config.json': c }));
    expect(m.config.text).toMatchObject({ kvHeads: 32, headDim: 64, rmsNormEps: 1e-6, ropeTheta: 10000, ropeScaling: null, tieWordEmbeddings: false, maxPositionEmbeddings: 2048 });
  });

  it('reads tokenizer_config.json: template list, AddedToken objects, added tokens', async () => {
    const dir = await modelDir({
      'config.json': llamaConfig(),
      'tokenizer.json': '{}',
      'tokenizer_config.json': {
        chat_template: [
          { name: 'default', template: '{{ messages }}' },
          { name: 'tool_use', template: '{{ tools }}' },
        ],
        bos_token: { content: '<|begin_of_text|>', lstrip: false },
        eos_token: '<|eot_id|>',
        pad_token: null,
        model_max_length: 1e30,
        added_tokens_decoder: {
          '128009': { content: '<|eot_id|>', special: true },
          '128000': { content: '<|begin_of_text|>', special: true },
        },
      },
    });
    const m = await loadModelDirectory(dir, { require: ['tokenizer'] });
    expect(m.tokenizerJsonPath).toBe(path.join(dir, 'tokenizer.json'));
    expect(m.chatTemplate).toBe('{{ messages }}');
    expect(m.tokenizerConfig).toMatchObject({
      chatTemplates: { default: '{{ messages }}', tool_use: '{{ tools }}' },
      bosToken: '<|begin_of_text|>',
      eosToken: '<|eot_id|>',
      padToken: undefined,
      modelMaxLength: undefined,
      addedTokens: [
        { id: 128000, content: '<|begin_of_text|>', special: true },
        { id: 128009, content: '<|eot_id|>', special: true },
      ],
    });
  });

  it('takes the chat template from chat_template.jinja when tokenizer_config.json has none', async () => {
    const dir = await modelDir({ 'config.json': llamaConfig(), 'tokenizer_config.json': { eos_token: '<|eot_id|>' }, 'chat_template.jinja': '{{ bos_token }}' });
    expect((await loadModelDirectory(dir)).chatTemplate).toBe('{{ bos_token }}');
  });

  it('names missing files and what it accepts', async () => {
    const empty = await modelDir({});
    const noConfig = await loadError(empty);
    expect(noConfig.code).toBe('MODEL_FILE_MISSING');
    expect(noConfig.file).toBe(path.join(empty, 'config.json'));

    const dir = await modelDir({ 'config.json': llamaConfig() });
    const tok = await loadError(dir, { require: ['tokenizer'] });
    expect(tok.file).toBe(path.join(dir, 'tokenizer.json'));
    const w = await loadError(dir, { require: ['weights'] });
    expect(w.message).toContain('model.safetensors.index.json');
    expect((await loadError(path.join(dir, 'nope'))).code).toBe('MODEL_FILE_MISSING');
  });

  it('finds sharded weights and names a missing shard', async () => {
    const dir = await modelDir({
      'config.json': llamaConfig(),
      'model.safetensors.index.json': { weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } },
      'model-00001-of-00002.safetensors': '',
    });
    const err = await loadError(dir);
    expect(err.code).toBe('MODEL_FILE_MISSING');
    expect(err.message).toContain('model-00002-of-00002.safetensors');
    await writeFile(path.join(dir, 'model-00002-of-00002.safetensors'), '');
    const m = await loadModelDirectory(dir);
    expect(m.weights).toEqual({
      sharded: true,
      files: [path.join(dir, 'model-00001-of-00002.safetensors'), path.join(dir, 'model-00002-of-00002.safetensors')],
      indexPath: path.join(dir, 'model.safetensors.index.json'),
    });
  });

  it('reports malformed JSON and malformed fields in the other files', async () => {
    const badJson = await modelDir({ 'config.json': '{"model_type": "llama",' });
    expect((await loadError(badJson)).code).toBe('MODEL_FILE_INVALID_JSON');

    const badGen = await modelDir({ 'config.json': llamaConfig(), 'generation_config.json': { eos_token_id: 'eos' } });
    const g = await loadError(badGen);
    expect([g.code, g.field, g.file]).toEqual(['MODEL_CONFIG_INVALID', 'eos_token_id', path.join(badGen, 'generation_config.json')]);

    const badTok = await modelDir({ 'config.json': llamaConfig(), 'tokenizer_config.json': { chat_template: 42 } });
    expect((await loadError(badTok)).field).toBe('chat_template');

    const badPre = await modelDir({ 'config.json': llamaConfig(), 'preprocessor_config.json': { size: { height: 560, width: 560 }, image_mean: [0.5, 0.5], image_std: [1, 1, 1] } });
    const p = await loadError(badPre);
    expect([p.field, p.message.includes('length 3')]).toEqual(['image_mean', true]);

    const noStd = await modelDir({ 'config.json': llamaConfig(), 'preprocessor_config.json': { size: { height: 560, width: 560 }, image_mean: [0.5, 0.5, 0.5] } });
    expect((await loadError(noStd)).field).toBe('image_std');
  });
});
