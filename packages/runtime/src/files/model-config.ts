import { ModelFileError } from './errors.js';
import { FieldReader } from './json-reader.js';
import { parseTextConfig, type TextConfig } from './text-config.js';
import { parseVisionConfig, type VisionConfig } from './vision-config.js';

export type ModelArch = 'mllama' | 'llama';

/** config.json, normalised. `raw` keeps the parsed JSON for fields not mapped here. */
export interface ModelConfig {
  arch: ModelArch;
  /** e.g. ["MllamaForConditionalGeneration"] or ["LlamaForCausalLM"]. */
  architectures: string[];
  modelType: string;
  /** `torch_dtype` as written (e.g. "bfloat16"), if any. */
  torchDtype?: string;
  text: TextConfig;
  /** Present for mllama only. */
  vision?: VisionConfig;
  /** The `<|image|>` token id (mllama only; 128256 in the released checkpoints). */
  imageTokenIndex?: number;
  raw: Record<string, unknown>;
}

const SUPPORTED = 'model_type "mllama" (MllamaForConditionalGeneration) or "llama" (LlamaForCausalLM)';

export function parseModelConfig(json: unknown, file = 'config.json'): ModelConfig {
  const r = FieldReader.root(file, json);
  const architectures = r.has('architectures') ? stringList(r, 'architectures') : [];
  const modelType = r.has('model_type') ? r.str('model_type') : inferType(architectures);
  const torchDtype = r.optionalStr('torch_dtype');

  if (modelType === 'mllama') {
    const text = parseTextConfig(r.child('text_config'), 'mllama');
    const vision = parseVisionConfig(r.child('vision_config'));
    const imageTokenIndex = r.int('image_token_index', { min: 0, default: 128256 });
    return { arch: 'mllama', architectures, modelType, torchDtype, text, vision, imageTokenIndex, raw: json as Record<string, unknown> };
  }
  if (modelType === 'llama') {
    return { arch: 'llama', architectures, modelType, torchDtype, text: parseTextConfig(r, 'llama'), raw: json as Record<string, unknown> };
  }
  throw new ModelFileError(
    'MODEL_ARCH_UNSUPPORTED',
    `${file}: field "model_type" is ${JSON.stringify(modelType)}; supported: ${SUPPORTED}`,
    file,
    'model_type',
  );
}

function inferType(architectures: string[]): string {
  if (architectures.some((a) => a.startsWith('Mllama'))) return 'mllama';
  if (architectures.some((a) => a.startsWith('Llama'))) return 'llama';
  return architectures[0] ?? 'unknown';
}

function stringList(r: FieldReader, key: string): string[] {
  const v = r.raw(key);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) r.fail(key, 'a list of class names', v);
  return v as string[];
}
