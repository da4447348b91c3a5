import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readModelSpec, type ModelSpec } from './config.js';
import { SafetensorsIndex } from '../weights/index.js';
import { ExternalDataWriter } from './external-data.js';
import { GraphBuilder, type FloatElem } from './graph-builder.js';
import { INT4_BLOCK_SIZES, int4Settings, WeightWriter, type BuildDtype, type BuildProgress, type Int4Settings } from './weights.js';
import { buildDecoderGraph } from './text-graph.js';
import { addGreedyLoop, LoopIO } from './decode-loop.js';
import { buildVisionGraph } from './vision-graph.js';
import { OnnxError } from './errors.js';
import { acquireBuildLock, removeAbandonedTempFiles, uniqueTempPath, type BuildLockOptions } from './build-lock.js';

export const MANIFEST_FILE = 'lookout-onnx.json';
export const DATA_FILE = 'weights.onnx.data';

export interface BuildOptions {
  dtype?: BuildDtype;
  /** Where the graphs go; default `<modelDir>/onnx-<dtype>`. */
  outDir?: string;
  onProgress?: (p: BuildProgress) => void;
  /** Adds hidden-state outputs to the decoder (parity checks). */
  hiddenStates?: boolean;
  /**
   * Self-attention as com.microsoft GroupQueryAttention (do_rotary) and RMSNorm as
   * SimplifiedLayerNormalization (default true); false keeps plain ONNX ops throughout.
   */
  fused?: boolean;
  /**
   * The activations' type: 'f16' (default for fp16) or 'f32' (default for fp32 and int4). On
   * CUDA use f16: onnxruntime's CUDA GroupQueryAttention has only f16/bf16 kernels, so an f32
   * graph runs it on the CPU. fp32 weights with f16 compute are refused (that is --dtype fp16).
   */
  compute?: 'f32' | 'f16';
  /** Add the in-graph greedy decode loop (several tokens per run; default true). */
  greedyLoop?: boolean;
  /**
   * Use a finished build with the same settings already in outDir instead of building again
   * (default false: build anew). A build that had to wait for another build of the same outDir
   * always uses that one's result when its settings match.
   */
  reuseExisting?: boolean;
  /** How a build waits for another build of the same outDir (see build-lock.ts). */
  lock?: BuildLockOptions;
  /**
   * int4 builds: how lm_head and the embeddings are stored and MatMulNBits' accuracy level (see
   * Int4Settings). Default: the compute type's defaults, overridden by LOOKOUT_INT4_LM_HEAD /
   * LOOKOUT_INT4_ACCURACY_LEVEL / LOOKOUT_INT4_EMBEDDINGS. Recorded in the manifest.
   */
  int4?: Partial<Int4Settings>;
}

/**
 * Revision of the graphs a build writes, for reuse: a build of an older revision still loads and
 * runs, but `reuseExisting` rebuilds it. 2: the decode loop reads a split cache (decode-loop.ts).
 * 3: the causal mask is built only where plain-op attention reads it (not every decode iteration).
 * 4: int4 builds stored q/k/v and gate/up as one 4-bit matrix each (one MatMulNBits, then Split).
 * 5: the decode loop's body splits and merges heads by reshapes and reads K transposed in the MatMul.
 * 6: one MatMulNBits per weight again (the joined matrices decoded no faster, prefilled ~5 % slower).
 */
export const GRAPH_REVISION = 6;

/** What a build wrote; saved as lookout-onnx.json next to the graphs. */
export interface BuildManifest {
  format: 1;
  /** GRAPH_REVISION of the builder that wrote it (absent: 1). */
  graphRevision?: number;
  dtype: BuildDtype;
  spec: ModelSpec;
  decoder: string;
  vision?: string;
  data: string;
  hiddenStates: boolean;
  fused: boolean;
  /** The decoder takes `greedy_steps` and can decode several greedy tokens per run. */
  greedyLoop: boolean;
  /** How text-only prompts run the Mllama cross layers (see docs/run-llama-vision.md). */
  textOnlyCross: 'zero-kv-identity';
  /**
   * The activations' element type, and so the KV cache's and the cross K/V's: float16 in fp16
   * builds (weights stay half in memory; made for CUDA), float32 otherwise. Absent in older
   * manifests, which were all float32.
   */
  computeType?: FloatElem;
  /** int4 builds: the settings used. Absent in older int4 manifests (f16 lm_head and embeddings, level 0); `embeddings` absent: f16; `blockSize` absent: 32. */
  int4?: Int4Settings;
}

export interface BuildResult {
  outDir: string;
  manifest: BuildManifest;
  bytesWritten: number;
  tensors: number;
  /** True when nothing was built: a finished build with these settings was there (see reuseExisting). */
  reused?: boolean;
}

const DTYPES: BuildDtype[] = ['fp32', 'fp16', 'int4'];

/**
 * Builds ONNX graphs from a Hugging Face checkpoint directory. Weights stream from safetensors
 * into one external-data file shared by the graphs; only one tensor is in memory at a time.
 */
export async function buildModel(modelDir: string, options: BuildOptions = {}): Promise<BuildResult> {
  const dtype = options.dtype ?? 'fp32';
  if (!DTYPES.includes(dtype)) throw new OnnxError('ONNX_BAD_DTYPE', `dtype "${String(dtype)}" is not supported; use one of ${DTYPES.join(', ')}`);
  const fused = options.fused ?? true;
  const compute = options.compute ?? (dtype === 'fp16' ? 'f16' : 'f32');
  if (compute !== 'f32' && compute !== 'f16') throw new OnnxError('ONNX_BAD_DTYPE', `compute "${String(compute)}" is not supported; use f32 or f16`);
  if (dtype === 'fp32' && compute === 'f16') throw new OnnxError('ONNX_BAD_DTYPE', 'fp32 weights with f16 compute is what --dtype fp16 builds; use dtype fp16');
  const computeType: FloatElem = compute === 'f16' ? 'float16' : 'float32';
  const greedyLoop = options.greedyLoop ?? true;
  const spec = await readModelSpec(modelDir);
  const src = await SafetensorsIndex.open(modelDir);
  const outDir = options.outDir ?? join(modelDir, `onnx-${dtype}`);
  mkdirSync(outDir, { recursive: true });

  // One build of outDir at a time, across processes: replicas started together on an unbuilt
  // model wait for the first one's build and use it.
  let lock: Awaited<ReturnType<typeof acquireBuildLock>>;
  try {
    lock = await acquireBuildLock(outDir, options.lock);
  } catch (error) {
    await src.close();
    throw error;
  }
  try {
    const int4 = dtype === 'int4' ? resolveInt4(compute, options.int4) : undefined;
    const wanted: BuildSettings = { dtype, fused, greedyLoop, hiddenStates: options.hiddenStates === true, computeType, ...(int4 ? { int4 } : {}) };
    if (options.reuseExisting || lock.waited) {
      const existing = readFinishedBuild(outDir, wanted);
      if (existing) {
        await src.close();
        return { outDir, manifest: existing, bytesWritten: statSync(join(outDir, existing.data)).size, tensors: src.tensors.length, reused: true };
      }
    }
    removeAbandonedTempFiles(outDir);
    return await buildLocked(outDir, spec, src, options, wanted);
  } finally {
    lock.release();
  }
}

interface BuildSettings {
  dtype: BuildDtype;
  fused: boolean;
  greedyLoop: boolean;
  hiddenStates: boolean;
  computeType: FloatElem;
  int4?: Int4Settings;
}

/** The int4 settings of a build: the compute type's defaults and the environment, then the options. */
function resolveInt4(compute: 'f32' | 'f16', given: Partial<Int4Settings> | undefined): Int4Settings {
  const settings = { ...int4Settings(compute), ...given };
  if (settings.lmHead !== 'f16' && settings.lmHead !== 'int8' && settings.lmHead !== 'int4') {
    throw new OnnxError('ONNX_BAD_CONFIG', `int4.lmHead must be f16, int8 or int4; got "${String(settings.lmHead)}"`);
  }
  if (settings.accuracyLevel !== 0 && settings.accuracyLevel !== 4) {
    throw new OnnxError('ONNX_BAD_CONFIG', `int4.accuracyLevel must be 0 or 4; got "${String(settings.accuracyLevel)}"`);
  }
  if (settings.embeddings !== 'f16' && settings.embeddings !== 'int8' && settings.embeddings !== 'int4') {
    throw new OnnxError('ONNX_BAD_CONFIG', `int4.embeddings must be f16, int8 or int4; got "${String(settings.embeddings)}"`);
  }
  if (!(INT4_BLOCK_SIZES as readonly number[]).includes(settings.blockSize)) {
    throw new OnnxError('ONNX_BAD_CONFIG', `int4.blockSize must be 32, 64 or 128; got "${String(settings.blockSize)}"`);
  }
  return settings;
}

/** The manifest of a finished build in `outDir` made with `wanted`, or undefined. */
function readFinishedBuild(outDir: string, wanted: BuildSettings): BuildManifest | undefined {
  let manifest: BuildManifest;
  try {
    manifest = JSON.parse(readFileSync(join(outDir, MANIFEST_FILE), 'utf8')) as BuildManifest;
  } catch {
    return undefined;
  }
  const same =
    manifest.format === 1 &&
    (manifest.graphRevision ?? 1) === GRAPH_REVISION &&
    manifest.dtype === wanted.dtype &&
    manifest.fused === wanted.fused &&
    manifest.greedyLoop === wanted.greedyLoop &&
    manifest.hiddenStates === wanted.hiddenStates &&
    (manifest.computeType ?? 'float32') === wanted.computeType &&
    (wanted.int4 === undefined ||
      ((manifest.int4?.lmHead ?? 'f16') === wanted.int4.lmHead &&
        (manifest.int4?.accuracyLevel ?? 0) === wanted.int4.accuracyLevel &&
        (manifest.int4?.embeddings ?? 'f16') === wanted.int4.embeddings &&
        (manifest.int4?.blockSize ?? 32) === wanted.int4.blockSize));
  const files = [manifest.decoder, manifest.data, ...(manifest.vision ? [manifest.vision] : [])];
  return same && files.every((f) => typeof f === 'string' && existsSync(join(outDir, f))) ? manifest : undefined;
}

async function buildLocked(outDir: string, spec: ModelSpec, src: SafetensorsIndex, options: BuildOptions, wanted: BuildSettings): Promise<BuildResult> {
  const { dtype, fused, greedyLoop, computeType } = wanted;
  // An interrupted build must not look finished: drop the old manifest first, write the data
  // under a temporary name of this build's own, and write the manifest last.
  rmSync(join(outDir, MANIFEST_FILE), { force: true });
  const partial = uniqueTempPath(join(outDir, DATA_FILE), 'partial');
  const data = new ExternalDataWriter(partial, DATA_FILE);
  let finished = false;
  const total = src.tensors.length;
  const weights = new WeightWriter(src, dtype, data, total, options.onProgress, wanted.int4);
  try {
    let vision: string | undefined;
    if (spec.arch === 'mllama' && spec.vision) {
      const vg = new GraphBuilder('mllama_vision', data);
      vg.floatElem = computeType;
      await buildVisionGraph(vg, spec, weights, { fused });
      vision = 'vision.onnx';
      writeAtomic(join(outDir, vision), vg.toBytes());
    }
    const dg = new GraphBuilder(spec.arch === 'mllama' ? 'mllama_decoder' : 'llama_decoder', data);
    dg.floatElem = computeType;
    if (greedyLoop) dg.names = (n) => (n.startsWith('present.') ? LoopIO.stepPresent(n) : n);
    await buildDecoderGraph(dg, spec.text, weights, { hiddenStates: options.hiddenStates, fused });
    if (greedyLoop) {
      dg.names = (n) => n;
      await addGreedyLoop(dg, data, spec.text, weights, { fused });
    }
    writeAtomic(join(outDir, 'decoder.onnx'), dg.toBytes());
    const manifest: BuildManifest = {
      format: 1,
      graphRevision: GRAPH_REVISION,
      dtype,
      spec,
      decoder: 'decoder.onnx',
      vision,
      data: DATA_FILE,
      hiddenStates: options.hiddenStates === true,
      fused,
      greedyLoop,
      textOnlyCross: 'zero-kv-identity',
      computeType,
      ...(wanted.int4 ? { int4: wanted.int4 } : {}),
    };
    data.close();
    renameSync(partial, join(outDir, DATA_FILE));
    writeAtomic(join(outDir, MANIFEST_FILE), new TextEncoder().encode(JSON.stringify(manifest, null, 2)));
    finished = true;
    return { outDir, manifest, bytesWritten: data.bytesWritten, tensors: weights.tensorsDone };
  } finally {
    data.close();
    if (!finished) rmSync(partial, { force: true });
    await src.close();
  }
}

/** Writes under a name of this build's own, then renames: readers see the old file or the new one, whole. */
function writeAtomic(path: string, bytes: Uint8Array): void {
  const tmp = uniqueTempPath(path, 'tmp');
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}
