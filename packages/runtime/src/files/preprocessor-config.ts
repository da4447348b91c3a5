import { FieldReader } from './json-reader.js';

/** preprocessor_config.json of an Mllama checkpoint, normalised. */
export interface PreprocessorConfig {
  imageProcessorType: string;
  doConvertRgb: boolean;
  doResize: boolean;
  doRescale: boolean;
  doNormalize: boolean;
  doPad: boolean;
  /** Tile size in pixels. */
  size: { height: number; width: number };
  maxImageTiles: number;
  /** PIL resample filter id (2 = bilinear). */
  resample: number;
  rescaleFactor: number;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

/**
 * Size, mean and std are required: the image-processor class defaults (224 px, 0.5) are not
 * what the released checkpoints use, so silently defaulting them would give wrong pixels.
 */
export function parsePreprocessorConfigJson(json: unknown, file = 'preprocessor_config.json'): PreprocessorConfig {
  const r = FieldReader.root(file, json);
  const size = r.child('size');
  const std = r.numArray('image_std', { length: 3 });
  const zero = std.findIndex((s) => s <= 0);
  if (zero >= 0) r.fail('image_std', 'three positive numbers', std);
  return {
    imageProcessorType: r.str('image_processor_type', 'MllamaImageProcessor'),
    doConvertRgb: r.bool('do_convert_rgb', true),
    doResize: r.bool('do_resize', true),
    doRescale: r.bool('do_rescale', true),
    doNormalize: r.bool('do_normalize', true),
    doPad: r.bool('do_pad', true),
    size: { height: size.int('height', { positive: true }), width: size.int('width', { positive: true }) },
    maxImageTiles: r.int('max_image_tiles', { positive: true, default: 4 }),
    resample: r.int('resample', { min: 0, default: 2 }),
    rescaleFactor: r.num('rescale_factor', { positive: true, default: 1 / 255 }),
    imageMean: r.numArray('image_mean', { length: 3 }) as [number, number, number],
    imageStd: std as [number, number, number],
  };
}
