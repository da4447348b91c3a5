/**
 * Assembles an OnnxModel from a model directory: checks the execution provider, builds the ONNX
 * graphs when they are missing (or says how to), loads the tokenizer, eos ids and chat format,
 * and starts the engine (in a worker thread by default).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ForwardEngine } from '../../model/engine.js';
import { ImageProcessor, ProcessedImageCache, loadPreprocessorConfig, MLLAMA_PROCESSOR_CONFIG, type ImageProcessorConfig } from '../../images/index.js';
import { buildModel, OnnxEngine, readModelSpec, resolveBuildDir, type BuildDtype, type BuildProgress, type ModelSpec } from '../../onnx/index.js';
import { LlamaTokenizer } from '../../tokenizer/index.js';
import { InvalidGenerationRequestError, ModelNotBuiltError } from '../errors.js';
import { WorkerEngine } from '../worker/worker-engine.js';
import type { OnnxModelParts } from './model-parts.js';
import { llamaChatProtocol } from './llama-chat-protocol.js';
import { asProviderError, assertExecutionProvider, type ExecutionProvider } from './providers.js';

export interface OnnxModelLoadOptions {
  executionProvider?: ExecutionProvider;
  /**
   * Which ONNX build to use (and build when missing): 'fp32', 'fp16', 'int4'. Default: the build
   * already in the directory (on CUDA fp16, then int4, then fp32 first; on CPU fp32, then int4,
   * then fp16), or, when there is none, fp16 on CUDA and fp32 on CPU.
   */
  dtype?: BuildDtype;
  /** Run the engine in a worker thread (default true): session.run blocks its thread. */
  worker?: boolean;
  /** 'auto' (default) builds missing graphs on first load; 'never' fails with MODEL_NOT_BUILT. */
  build?: 'auto' | 'never';
  onBuildProgress?: (progress: BuildProgress) => void;
  maxQueue?: number;
  defaultMaxTokens?: number;
  /** CPU threads per onnxruntime session. */
  intraOpThreads?: number;
  /**
   * Reuse the KV cache of the previous request for the part of the next prompt that starts the
   * same way (an agent's next step), skipping the vision encoder for the same images. Default true.
   */
  prefixCache?: boolean;
  /** Bytes the cached prefixes may hold together (default 1 GiB; the latest is always kept). */
  prefixCacheBytes?: number;
  /**
   * Most prompt tokens per forward run (default 1024): longer prompts are fed in chunks so memory
   * grows linearly with the prompt (see OnnxEngineOptions.prefillChunkTokens).
   */
  prefillChunkTokens?: number;
  /**
   * onnxruntime's weight prepacking (see OnnxEngineOptions.prepackWeights). Default: off for
   * fp32/fp16 builds on CPU (half the memory, fast load), on for int4 builds and on CUDA.
   */
  prepackWeights?: boolean;
  /**
   * Tokens decoded per forward run by the build's in-graph decode loop when a request allows it
   * (greedy or temperature/top-k/top-p, with or without a repetition penalty and logprobs).
   * Default 16; 1 = one forward run per token.
   */
  decodeChunk?: number;
  /** "Today Date" written into chat prompts (default: now). */
  date?: Date | string;
  /**
   * Processed images kept by the hash of their bytes (default: a 256 MiB cache per model;
   * `false` turns it off). Pass one cache to several models with the same image settings (the
   * chat model and Llama Guard vision) and a photo is decoded once for both.
   */
  imageCache?: ProcessedImageCache | false;
}

export async function loadOnnxModelParts(modelDir: string, options: OnnxModelLoadOptions = {}): Promise<OnnxModelParts> {
  const dir = path.resolve(modelDir);
  const executionProvider = options.executionProvider ?? 'cpu';
  assertExecutionProvider(executionProvider);
  const dtype = options.dtype ?? defaultDtype(dir, executionProvider);
  const { decodeChunk } = options;
  if (decodeChunk !== undefined && (!Number.isInteger(decodeChunk) || decodeChunk < 1))
    throw new InvalidGenerationRequestError(`decodeChunk must be an integer >= 1 (1 = one forward run per token), got ${decodeChunk}.`);
  if (!existsSync(path.join(dir, 'config.json')))
    throw new ModelNotBuiltError(`${dir} is not a model directory: config.json is missing. Point OnnxModel.load at a Hugging Face checkpoint directory.`);

  await ensureBuilt(dir, dtype, options);
  const spec = await readModelSpec(dir);
  const tokenizer = await LlamaTokenizer.fromDirectory(dir);
  const eosIds = readEosIds(dir) ?? [...tokenizer.specialIds.stop];

  const engineOptions = {
    executionProvider,
    dtype,
    ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}),
    ...(options.prefixCache === false ? { prefixCache: false } : {}),
    ...(options.prefixCacheBytes !== undefined ? { prefixCacheBytes: options.prefixCacheBytes } : {}),
    ...(options.prefillChunkTokens !== undefined ? { prefillChunkTokens: options.prefillChunkTokens } : {}),
    ...(options.prepackWeights !== undefined ? { prepackWeights: options.prepackWeights } : {}),
  };
  const startEngine = async (): Promise<ForwardEngine> => {
    try {
      return options.worker === false ? await OnnxEngine.load(dir, engineOptions) : await WorkerEngine.loadOnnx(dir, engineOptions);
    } catch (error) {
      throw asProviderError(error, executionProvider);
    }
  };
  const engine = await startEngine();

  const hasVision = spec.vision !== undefined;
  const imageConfig = hasVision ? await processorConfig(dir, spec) : undefined;
  const imageProcessor = imageConfig ? new ImageProcessor(imageConfig, { offThread: options.worker !== false, ...(options.imageCache !== undefined ? { cache: options.imageCache } : {}) }) : undefined;
  return {
    id: `${hasVision ? 'mllama' : 'llama'}:${dir}`,
    engine,
    tokenizer,
    chat: llamaChatProtocol({ date: options.date }),
    // One image path: decoded and resized off the event loop, once per distinct photo.
    prepareVision: imageProcessor ? (images, inputIds, imageTokenId) => imageProcessor.prepare(images, inputIds, { imageTokenId }) : undefined,
    eosIds,
    maxQueue: options.maxQueue,
    defaultMaxTokens: options.defaultMaxTokens,
    decodeChunk: options.decodeChunk,
    restartEngine: options.worker === false ? undefined : startEngine,
  };
}

/** Builds in order of preference for a provider (see OnnxModelLoadOptions.dtype). */
const PREFERRED: Record<ExecutionProvider, BuildDtype[]> = { cuda: ['fp16', 'int4', 'fp32'], cpu: ['fp32', 'int4', 'fp16'] };

/** The dtype to load when none is named: an existing build, else the provider's natural one. */
export function defaultDtype(dir: string, executionProvider: ExecutionProvider): BuildDtype {
  const order = PREFERRED[executionProvider];
  for (const dtype of order) {
    try {
      resolveBuildDir(dir, dtype);
      return dtype;
    } catch {
      // no build of this dtype
    }
  }
  return order[0];
}

async function ensureBuilt(dir: string, dtype: BuildDtype, options: OnnxModelLoadOptions): Promise<void> {
  try {
    resolveBuildDir(dir, dtype);
    return;
  } catch {
    // not built yet
  }
  const howTo = `run \`lookout build ${dir} --dtype ${dtype}\``;
  if (options.build === 'never')
    throw new ModelNotBuiltError(`${dir} has no ONNX build for dtype ${dtype}; ${howTo}, or load with build: 'auto'.`);
  try {
    // reuseExisting: another process (a replica started at the same time) may have built it meanwhile.
    await buildModel(dir, { dtype, onProgress: options.onBuildProgress, reuseExisting: true });
  } catch (error) {
    throw new ModelNotBuiltError(`Building the ONNX graphs for ${dir} (dtype ${dtype}) failed: ${(error as Error).message}. Fix the checkpoint and ${howTo}.`, { cause: error });
  }
}

/** generation_config.json `eos_token_id` (a number or a list); undefined when absent. */
function readEosIds(dir: string): number[] | undefined {
  const file = path.join(dir, 'generation_config.json');
  if (!existsSync(file)) return undefined;
  const eos = (JSON.parse(readFileSync(file, 'utf8')) as { eos_token_id?: unknown }).eos_token_id;
  if (typeof eos === 'number') return [eos];
  if (Array.isArray(eos) && eos.every((x) => typeof x === 'number')) return eos as number[];
  return undefined;
}

/**
 * The checkpoint's preprocessor_config.json; without one, the Llama 3.2 Vision settings sized to
 * the vision tower (test checkpoints use small tiles).
 */
async function processorConfig(dir: string, spec: ModelSpec): Promise<ImageProcessorConfig> {
  const file = path.join(dir, 'preprocessor_config.json');
  if (existsSync(file)) return loadPreprocessorConfig(file);
  const vision = spec.vision!;
  return { ...MLLAMA_PROCESSOR_CONFIG, tileSize: vision.imageSize, maxImageTiles: vision.maxNumTiles };
}
