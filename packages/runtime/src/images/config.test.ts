import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPreprocessorConfig, MLLAMA_PROCESSOR_CONFIG, parsePreprocessorConfig } from './config.js';
import { ImageConfigError } from './errors.js';
import { resolveLimits, DEFAULT_IMAGE_LIMITS } from './limits.js';

const REF_CONFIG = '/work/shared/reference/image_processor/preprocessor_config.json';

describe('preprocessor config', () => {
  it.skipIf(!existsSync(REF_CONFIG))("reads the real checkpoint's preprocessor_config.json as the built-in defaults", async () => {
    expect(await loadPreprocessorConfig(REF_CONFIG)).toEqual(MLLAMA_PROCESSOR_CONFIG);
  });

  it('rejects settings this processor does not implement, naming what is accepted', () => {
    const bad = [
      [{ resample: 3 }, /accepted: 2 \(PIL BILINEAR\)/],
      [{ size: { height: 560, width: 448 } }, /square/],
      [{ do_resize: false }, /do_resize=false/],
      [{ image_std: [1, 0, 1] }, /must not contain 0/],
      [{ image_mean: [1, 2] }, /3 numbers/],
      [{ max_image_tiles: 0 }, /1\.\.64/],
      [{ image_processor_type: 'CLIPImageProcessor' }, /accepted: MllamaImageProcessor/],
    ] as const;
    for (const [json, message] of bad) {
      expect(() => parsePreprocessorConfig(json), JSON.stringify(json)).toThrow(ImageConfigError);
      expect(() => parsePreprocessorConfig(json)).toThrow(message);
    }
  });

  it('fills absent fields with the checkpoint values and honours do_normalize=false', () => {
    expect(parsePreprocessorConfig({})).toEqual(MLLAMA_PROCESSOR_CONFIG);
    expect(parsePreprocessorConfig({ do_normalize: false, max_image_tiles: 6 })).toMatchObject({ doNormalize: false, maxImageTiles: 6 });
  });

  it('validates limits', () => {
    expect(resolveLimits({ maxBytes: undefined })).toEqual(DEFAULT_IMAGE_LIMITS);
    expect(() => resolveLimits({ maxPixels: 0 })).toThrow(/maxPixels/);
  });
});
