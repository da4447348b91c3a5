import { mkdirSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readModelSpec, type ModelSpec } from './config.js';
import { SafetensorsIndex } from '../weights/index.js';
import { ExternalDataWriter } from './external-data.js';
import { GraphBuilder, type FloatElem } from './graph-builder.js';
import { WeightWriter, type BuildDtype, type BuildProgress } from './weights.js';
import { buildDecoderGraph } from './text-graph.js';
import { addGreedyLoop, LoopIO } from './decode-loop.js';
import { buildVisionGraph } from './vision-graph.js';
import { OnnxError } from './errors.js';

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
}

/** What a build wrote; saved as lookout-onnx.json next to the graphs. */
export interface BuildManifest {
  format: 1;
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
}

export interface BuildResult {
  outDir: string;
  manifest: BuildManifest;
  bytesWritten: number;
  tensors: number;
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

  // An interrupted build must not look finished: drop the old manifest first, write the data
  // under a temporary name, and write the manifest last.
  rmSync(join(outDir, MANIFEST_FILE), { force: true });
  const partial = join(outDir, `${DATA_FILE}.partial`);
  const data = new ExternalDataWriter(partial, DATA_FILE);
  let finished = false;
  const total = src.tensors.length;
  const weights = new WeightWriter(src, dtype, data, total, options.onProgress);
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

function writeAtomic(path: string, bytes: Uint8Array): void {
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
}
