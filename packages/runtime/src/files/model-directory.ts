import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ModelFileError } from './errors.js';
import { readJsonFile, FieldReader, isObject } from './json-reader.js';
import { parseModelConfig, type ModelConfig } from './model-config.js';
import { generationConfigFromModel, parseGenerationConfig, type GenerationConfig } from './generation-config.js';
import { parseTokenizerConfig, type TokenizerConfig } from './tokenizer-config.js';
import { parsePreprocessorConfigJson, type PreprocessorConfig } from './preprocessor-config.js';

/** File names of a Hugging Face model directory. */
export const MODEL_FILES = {
  config: 'config.json',
  generation: 'generation_config.json',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  chatTemplateJinja: 'chat_template.jinja',
  chatTemplateJson: 'chat_template.json',
  preprocessor: 'preprocessor_config.json',
  weights: 'model.safetensors',
  weightsIndex: 'model.safetensors.index.json',
} as const;

/** Parts a caller can insist on; config.json is always required. */
export type ModelDirectoryPart = 'tokenizer' | 'generation' | 'preprocessor' | 'weights';

export interface LoadModelDirectoryOptions {
  /** Fail with MODEL_FILE_MISSING unless these are present. 'tokenizer' means tokenizer.json and tokenizer_config.json. */
  require?: ModelDirectoryPart[];
}

export interface WeightFiles {
  sharded: boolean;
  /** Absolute paths of the .safetensors files (shards in name order). */
  files: string[];
  /** The index JSON for a sharded checkpoint. */
  indexPath?: string;
}

/** Everything Lookout reads from a model directory, parsed and checked; weights are only located. */
export interface ModelDirectory {
  dir: string;
  config: ModelConfig;
  /** From generation_config.json, or derived from config.json when that file is absent. */
  generation: GenerationConfig;
  /** Path of tokenizer.json when present. */
  tokenizerJsonPath?: string;
  tokenizerConfig?: TokenizerConfig;
  /** tokenizer_config.json's template, else chat_template.jinja / chat_template.json. */
  chatTemplate?: string;
  preprocessor?: PreprocessorConfig;
  weights?: WeightFiles;
}

export async function loadModelDirectory(dir: string, options: LoadModelDirectoryOptions = {}): Promise<ModelDirectory> {
  const root = path.resolve(dir);
  const st = await stat(root).catch(() => undefined);
  if (!st?.isDirectory()) throw new ModelFileError('MODEL_FILE_MISSING', `${root}: not a model directory (it does not exist or is not a directory)`, root);
  const required = new Set(options.require ?? []);
  const file = (name: string) => path.join(root, name);

  const configPath = file(MODEL_FILES.config);
  const config = parseModelConfig(await readJsonFile(configPath), configPath);

  const generationPath = file(MODEL_FILES.generation);
  const generation = (await exists(generationPath))
    ? parseGenerationConfig(await readJsonFile(generationPath), generationPath)
    : required.has('generation')
      ? missing(generationPath)
      : generationConfigFromModel(config);

  const tokenizerJsonPath = file(MODEL_FILES.tokenizer);
  const hasTokenizerJson = await exists(tokenizerJsonPath);
  const tokenizerConfigPath = file(MODEL_FILES.tokenizerConfig);
  const hasTokenizerConfig = await exists(tokenizerConfigPath);
  if (required.has('tokenizer')) {
    if (!hasTokenizerJson) missing(tokenizerJsonPath);
    if (!hasTokenizerConfig) missing(tokenizerConfigPath);
  }
  const tokenizerConfig = hasTokenizerConfig ? parseTokenizerConfig(await readJsonFile(tokenizerConfigPath), tokenizerConfigPath) : undefined;
  const chatTemplate = tokenizerConfig?.chatTemplate ?? (await readStandaloneTemplate(root));

  const preprocessorPath = file(MODEL_FILES.preprocessor);
  const preprocessor = (await exists(preprocessorPath))
    ? parsePreprocessorConfigJson(await readJsonFile(preprocessorPath), preprocessorPath)
    : required.has('preprocessor')
      ? missing(preprocessorPath)
      : undefined;

  const weights = await locateWeights(root);
  if (!weights && required.has('weights')) {
    throw new ModelFileError(
      'MODEL_FILE_MISSING',
      `${root}: no weights; expected ${MODEL_FILES.weights} or ${MODEL_FILES.weightsIndex} with its shards`,
      file(MODEL_FILES.weights),
    );
  }

  return {
    dir: root,
    config,
    generation,
    tokenizerJsonPath: hasTokenizerJson ? tokenizerJsonPath : undefined,
    tokenizerConfig,
    chatTemplate,
    preprocessor,
    weights,
  };
}

async function locateWeights(root: string): Promise<WeightFiles | undefined> {
  const indexPath = path.join(root, MODEL_FILES.weightsIndex);
  if (await exists(indexPath)) {
    const r = FieldReader.root(indexPath, await readJsonFile(indexPath));
    const map = r.child('weight_map');
    const shards = new Set<string>();
    for (const [name, shard] of Object.entries(r.raw('weight_map') as Record<string, unknown>)) {
      if (typeof shard !== 'string' || shard.length === 0) return map.fail(name, 'a shard file name', shard);
      shards.add(shard);
    }
    const files = [...shards].sort().map((s) => path.join(root, s));
    for (const f of files) if (!(await exists(f))) missing(f, `listed in ${indexPath}`);
    return { sharded: true, files, indexPath };
  }
  const single = path.join(root, MODEL_FILES.weights);
  return (await exists(single)) ? { sharded: false, files: [single] } : undefined;
}

/** Newer checkpoints keep the template in its own file instead of tokenizer_config.json. */
async function readStandaloneTemplate(root: string): Promise<string | undefined> {
  const jinja = path.join(root, MODEL_FILES.chatTemplateJinja);
  if (await exists(jinja)) return readFile(jinja, 'utf8');
  const json = path.join(root, MODEL_FILES.chatTemplateJson);
  if (await exists(json)) {
    const parsed = await readJsonFile(json);
    if (isObject(parsed) && typeof parsed.chat_template === 'string') return parsed.chat_template;
    FieldReader.root(json, parsed).fail('chat_template', 'a template string', isObject(parsed) ? parsed.chat_template : undefined);
  }
  return undefined;
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() ?? false;
}

function missing(p: string, why = 'required'): never {
  throw new ModelFileError('MODEL_FILE_MISSING', `${p}: file not found (${why})`, p);
}
