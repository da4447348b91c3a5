import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SafetensorsWriter, type SafetensorsDtype } from '../weights/index.js';
import { buildLlama3TokenizerFiles } from '../tokenizer/index.js';
import { expectedParameters, parseModelConfig } from '../files/index.js';
import { generationConfig, llamaConfig, mllamaConfig, preprocessorConfig, toConfigJson } from './configs.js';
import { initialValues } from './init.js';
import { resolveTinySizes, type TinyCheckpointOptions, type TinyDtype, type TinySizes } from './sizes.js';

const SAFETENSORS_DTYPE: Record<TinyDtype, SafetensorsDtype> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };

export interface TinyCheckpoint {
  dir: string;
  sizes: TinySizes;
  /** Names of the files written, relative to dir. */
  files: string[];
  tensorCount: number;
  /** Size of model.safetensors. */
  weightBytes: number;
}

/**
 * Writes a small, randomly initialised checkpoint in the exact Hugging Face layout of
 * Llama 3.2 Vision (mllama) or Llama 3 (llama): real parameter names, the real 128256-token
 * vocabulary and special-token ids, tiny hidden sizes. Same options and seed => same bytes.
 */
export async function writeTinyCheckpoint(dir: string, options: TinyCheckpointOptions): Promise<TinyCheckpoint> {
  const sizes = resolveTinySizes(options);
  const config = sizes.arch === 'mllama' ? mllamaConfig(sizes) : llamaConfig(sizes);
  // Parsing what we are about to write checks it, and the parameter list follows from it.
  const modelConfig = parseModelConfig(config, 'config.json');

  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const put = async (name: string, text: string) => {
    await writeFile(path.join(dir, name), text);
    files.push(name);
  };

  await put('config.json', toConfigJson(config));
  await put('generation_config.json', toConfigJson(generationConfig()));
  if (sizes.arch === 'mllama') await put('preprocessor_config.json', toConfigJson(preprocessorConfig(sizes.vision!.maxNumTiles, sizes.vision!.imageSize)));

  const params = expectedParameters(modelConfig);
  const dtype = SAFETENSORS_DTYPE[sizes.dtype];
  const writer = await SafetensorsWriter.create(
    path.join(dir, 'model.safetensors'),
    params.map((p) => ({ name: p.name, dtype, shape: p.shape })),
  );
  try {
    // One tensor in memory at a time; the writer converts to the on-disk dtype.
    for (const p of params) await writer.write(p.name, initialValues(p, sizes.seed));
  } catch (err) {
    await writer.abort();
    throw err;
  }
  await writer.close();
  files.push('model.safetensors');

  if (options.tokenizer ?? true) {
    const { tokenizerJson, tokenizerConfig } = buildLlama3TokenizerFiles({ imageToken: sizes.arch === 'mllama' });
    await put('tokenizer.json', JSON.stringify(tokenizerJson));
    await put('tokenizer_config.json', `${JSON.stringify(tokenizerConfig, null, 2)}\n`);
  }

  return { dir, sizes, files: files.sort(), tensorCount: params.length, weightBytes: writer.fileSize };
}
