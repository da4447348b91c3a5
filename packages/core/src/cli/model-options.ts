// The model-choice flags shared by commands that run a model (chat, serve): an in-process
// model directory or an OpenAI-compatible engine.
import type { ModelSource } from '../serve/load-model.js';
import { CliUsageError } from './command.js';

/** parseCliArgs options for --model-dir, --device, --dtype, --base-url, --model and --api-key. */
export const MODEL_OPTIONS = {
  'model-dir': { type: 'string' },
  device: { type: 'string' },
  dtype: { type: 'string' },
  'base-url': { type: 'string' },
  model: { type: 'string' },
  'api-key': { type: 'string' },
} as const;

export interface ModelOptionValues {
  'model-dir'?: string;
  device?: string;
  dtype?: string;
  'base-url'?: string;
  model?: string;
  'api-key'?: string;
}

/** --device: cpu (default) or cuda, else a usage error. */
export function deviceOption(value: string | undefined): 'cpu' | 'cuda' {
  const device = value ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new CliUsageError(`--device must be cpu or cuda, got "${device}"`);
  return device;
}

const DTYPES = ['fp32', 'fp16', 'int4'] as const;

/** --dtype: which ONNX build of --model-dir to run (default: the build that is there). */
export function dtypeOption(value: string | undefined): (typeof DTYPES)[number] | undefined {
  if (value === undefined) return undefined;
  if (!(DTYPES as readonly string[]).includes(value)) throw new CliUsageError(`--dtype must be one of ${DTYPES.join(', ')}, got "${value}"`);
  return value as (typeof DTYPES)[number];
}

/** The ModelSource for loadLanguageModel named by the model flags. */
export function modelSourceOptions(values: ModelOptionValues): ModelSource {
  return {
    modelDir: values['model-dir'],
    baseUrl: values['base-url'],
    model: values.model,
    apiKey: values['api-key'],
    device: deviceOption(values.device),
    dtype: dtypeOption(values.dtype),
  };
}
