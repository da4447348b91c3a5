import { lstatSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModelDirectory } from '../files/index.js';
import { hasReferenceModels, referenceGeneration, referenceModelDir } from './reference-model-dir.js';

describe.skipIf(!hasReferenceModels())('referenceModelDir', () => {
  it('makes a loadable model directory with linked weights and tokenizer files', async () => {
    const dir = referenceModelDir('tiny-a', { tempPrefix: 'lookout-testing-' });
    try {
      expect(path.basename(dir)).toMatch(/^lookout-testing-/);
      expect(readdirSync(dir).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
      expect(lstatSync(path.join(dir, 'model.safetensors')).isSymbolicLink()).toBe(true);
      const model = await loadModelDirectory(dir, { require: ['tokenizer'] });
      expect(model.config.vision).toBeDefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the reference generation of a case', () => {
    const g = referenceGeneration('tiny-text');
    expect(g.prompt_input_ids.length).toBeGreaterThan(0);
    expect(g.new_token_ids.length).toBeGreaterThan(0);
  });
});
