import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../weights/index.js';
import { HAVE_REFERENCE, REFERENCE_MLLAMA } from '../testing/safetensors-helpers.js';
import { assertWeightsMatch, checkWeights } from './check-weights.js';
import { ModelFileError } from './errors.js';
import { loadModelDirectory } from './model-directory.js';
import { parseModelConfig } from './model-config.js';
import { expectedParameters } from './parameter-layout.js';

describe.skipIf(!HAVE_REFERENCE)('expectedParameters / checkWeights on the reference checkpoints', () => {
  for (const name of ['tiny-a', 'tiny-text']) {
    it(`derives exactly the tensor names and shapes of ${name} from its config`, async () => {
      const dir = path.join(REFERENCE_MLLAMA, name);
      const m = await loadModelDirectory(dir);
      const st = await SafetensorsFile.open(path.join(dir, 'model.safetensors'));
      const expected = expectedParameters(m.config);
      expect(expected.map((p) => `${p.name} [${p.shape}]`).sort()).toEqual(st.tensors.map((t) => `${t.name} [${t.shape}]`).sort());
      expect(checkWeights(m.config, st)).toEqual({ ok: true, missing: [], unexpected: [], wrongShape: [] });
      expect(() => assertWeightsMatch(m.config, st, dir)).not.toThrow();
      await st.close();
    });
  }

  it('reports what differs when the weights belong to another config', async () => {
    const a = await loadModelDirectory(path.join(REFERENCE_MLLAMA, 'tiny-a'));
    const st = await SafetensorsFile.open(path.join(REFERENCE_MLLAMA, 'tiny-text', 'model.safetensors'));
    const r = checkWeights(a.config, st);
    expect(r.ok).toBe(false);
    // tiny-text has cross layers [1, 4], one kv head, MLP 64, 2+1 vision layers.
    expect(r.missing.map((p) => p.name)).toContain('language_model.model.layers.3.cross_attn_attn_gate');
    expect(r.unexpected).toContain('language_model.model.layers.4.cross_attn_attn_gate');
    expect(r.wrongShape).toContainEqual({ name: 'language_model.model.layers.0.self_attn.k_proj.weight', expected: [16, 32], actual: [8, 32] });
    let err: unknown;
    try {
      assertWeightsMatch(a.config, st, 'x');
    } catch (e) {
      err = e;
    }
    expect((err as ModelFileError).code).toBe('MODEL_WEIGHTS_MISMATCH');
    expect((err as Error).message).toMatch(/missing \d+ .*wrong shape .*unexpected/);
    await st.close();
  });
});

describe('expectedParameters for Llama', () => {
  const base = {
    model_type: 'llama',
    hidden_size: 16,
    intermediate_size: 24,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    num_hidden_layers: 2,
    vocab_size: 100,
  };

  it('has lm_head only when embeddings are not tied', () => {
    const untied = expectedParameters(parseModelConfig({ ...base, tie_word_embeddings: false }));
    const tied = expectedParameters(parseModelConfig({ ...base, tie_word_embeddings: true }));
    expect(untied.find((p) => p.name === 'lm_head.weight')?.shape).toEqual([100, 16]);
    expect(tied.some((p) => p.name === 'lm_head.weight')).toBe(false);
    expect(untied.length).toBe(3 + 2 * 9);
  });

  it('adds projection biases for attention_bias and mlp_bias, and honours head_dim', () => {
    const ps = expectedParameters(parseModelConfig({ ...base, attention_bias: true, mlp_bias: true, head_dim: 8 }));
    const byName = new Map(ps.map((p) => [p.name, p.shape]));
    expect(byName.get('model.layers.0.self_attn.q_proj.weight')).toEqual([32, 16]);
    expect(byName.get('model.layers.0.self_attn.k_proj.bias')).toEqual([16]);
    expect(byName.get('model.layers.1.mlp.down_proj.bias')).toEqual([16]);
    expect(byName.get('model.layers.1.self_attn.o_proj.weight')).toEqual([16, 32]);
  });
});
