import { describe, expect, it } from 'vitest';
import { LookoutError } from '@lookout/tools';
import { ModelSourceError, loadLanguageModel } from './load-model.js';

describe('loadLanguageModel', () => {
  it('refuses a source that names no model, or both kinds, with ModelSourceError (cli.model_source)', async () => {
    for (const source of [{}, { modelDir: '/m', baseUrl: 'http://127.0.0.1:1/v1' }]) {
      const error = await loadLanguageModel(source).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelSourceError);
      expect(error).toBeInstanceOf(LookoutError);
      expect(error).toMatchObject({ name: 'ModelSourceError', code: 'cli.model_source' });
    }
  });
});
