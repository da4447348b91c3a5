import { describe, expect, it } from 'vitest';
import { CliUsageError, parseCliArgs } from './command.js';
import { MODEL_OPTIONS, deviceOption, modelSourceOptions } from './model-options.js';

describe('model-choice flags', () => {
  it('parses the model flags into a ModelSource, cpu by default', () => {
    const { values } = parseCliArgs(['--base-url', 'http://gpu-1:8000/v1', '--model', 'm', '--api-key', 'k'], MODEL_OPTIONS);
    expect(modelSourceOptions(values)).toEqual({ modelDir: undefined, baseUrl: 'http://gpu-1:8000/v1', model: 'm', apiKey: 'k', device: 'cpu', dtype: undefined });
    expect(modelSourceOptions({ 'model-dir': '/m', device: 'cuda' })).toMatchObject({ modelDir: '/m', device: 'cuda' });
    const fp16 = parseCliArgs(['--model-dir', '/m', '--device', 'cuda', '--dtype', 'fp16'], MODEL_OPTIONS).values;
    expect(modelSourceOptions(fp16)).toMatchObject({ modelDir: '/m', device: 'cuda', dtype: 'fp16' });
  });

  it('rejects an unknown --dtype with a usage error naming the accepted values', () => {
    expect(() => modelSourceOptions({ 'model-dir': '/m', dtype: 'q8' })).toThrow('--dtype must be one of fp32, fp16, int4, got "q8"');
  });

  it('rejects an unknown --device with a usage error naming the accepted values', () => {
    expect(() => deviceOption('tpu')).toThrow(CliUsageError);
    expect(() => modelSourceOptions({ device: 'gpu' })).toThrow('--device must be cpu or cuda, got "gpu"');
  });
});
