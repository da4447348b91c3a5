import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { SafetensorsFile } from '../weights/index.js';
import type { VisionInputs } from '../model/engine.js';
import { buildModel } from './build.js';
import { OnnxEngine } from './engine.js';
import type { BuildDtype } from './weights.js';
import { OnnxError } from './errors.js';
import { VisionIO } from './vision-io.js';

export interface VerifyOptions {
  dtype?: BuildDtype;
  /** Build here and keep it; default a temporary directory removed afterwards. */
  outDir?: string;
  /** Include per-position logit differences in the (JSON-serialisable) report. */
  json?: boolean;
  /** Largest accepted logits difference; default by dtype (fp32 2e-4, fp16 5e-2, int4 none). */
  tolerance?: number;
  /** Build with the fused contrib ops (default true; see BuildOptions.fused). */
  fused?: boolean;
}

/** Default logits tolerance per build dtype (fp32: the reference README's suggestion). */
export const VERIFY_TOLERANCE: Record<BuildDtype, number> = { fp32: 2e-4, fp16: 5e-2, int4: Infinity };

export interface VerifyReport {
  case: string;
  dtype: BuildDtype;
  /** maxAbsDiff within tolerance and every greedy token equal. */
  pass: boolean;
  tolerance: number;
  positions: number;
  /** Max |ours - reference| over the logits of every prompt position. */
  maxAbsDiff: number;
  /** Max over the decoder hidden states (HF output_hidden_states layout). */
  hiddenMaxAbsDiff: number;
  /** Max over multi_modal_projector output (image cases). */
  crossStatesMaxAbsDiff?: number;
  /**
   * Max |ours - HF| over the top-5 logits HF recorded at every greedy step (its decode with the
   * DynamicCache), i.e. the KV-cache decode path, not just the prompt.
   */
  decodeMaxAbsDiff: number;
  /** Greedy tokens with the KV cache, as many as generation.json has. */
  tokens: number[];
  expectedTokens: number[];
  greedyMatch: boolean;
  /** Index of the first differing greedy token, -1 when all match. */
  firstMismatch: number;
  /** Bytes crossing JS <-> onnxruntime: prefill (vision included) and the mean decode step. */
  transferBytes: { prefill: number; stepMean: number };
  perPositionMaxAbsDiff?: number[];
}

/** Loads a reference case's prompt and, for image cases, its VisionInputs. */
export async function readCaseInputs(caseDir: string): Promise<{ inputIds: number[]; vision?: VisionInputs; tensors: Map<string, { shape: number[]; data: Float32Array }> }> {
  const inputsPath = join(caseDir, 'inputs.json');
  if (!existsSync(inputsPath)) throw new OnnxError('ONNX_BAD_CASE', `${caseDir} has no inputs.json; a reference case directory is expected`);
  const inputs = JSON.parse(readFileSync(inputsPath, 'utf8')) as Record<string, unknown>;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const file = await SafetensorsFile.open(join(caseDir, 'tensors.safetensors'));
  try {
    for (const t of file.tensors) tensors.set(t.name, { shape: t.shape, data: await file.readTensor(t.name) });
  } finally {
    await file.close();
  }
  const inputIds = (inputs.input_ids as number[][])[0];
  const pixels = tensors.get('pixel_values');
  let vision: VisionInputs | undefined;
  if (pixels && inputs.aspect_ratio_ids) {
    const [, numImages, maxTiles, , tileSize] = pixels.shape;
    vision = {
      pixelValues: pixels.data,
      numImages,
      maxTiles,
      tileSize,
      aspectRatioIds: (inputs.aspect_ratio_ids as number[][])[0],
      aspectRatioMask: (inputs.aspect_ratio_mask as number[][][])[0],
      crossAttentionMask: (inputs.cross_attention_mask as number[][][][])[0],
    };
  }
  return { inputIds, vision, tensors };
}

/**
 * Builds a reference case (config + model.safetensors), runs its inputs and compares with the
 * HF outputs stored beside them: logits of every position, hidden states, greedy tokens.
 */
export async function verifyCase(caseDir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const dtype = options.dtype ?? 'fp32';
  const outDir = options.outDir ?? mkdtempSync(join(tmpdir(), 'lookout-verify-'));
  try {
    await buildModel(caseDir, { dtype, outDir, hiddenStates: true, fused: options.fused });
    const { inputIds, vision, tensors } = await readCaseInputs(caseDir);
    const generation = JSON.parse(readFileSync(join(caseDir, 'generation.json'), 'utf8')) as {
      new_token_ids: number[];
      steps?: Array<{ top5_ids: number[]; top5_logits: number[] }>;
    };
    const engine = await OnnxEngine.load(outDir);
    try {
      let crossStatesMaxAbsDiff: number | undefined;
      if (vision && tensors.has('cross_attention_states')) {
        const enc = await engine.encodeImages(vision);
        crossStatesMaxAbsDiff = maxAbsDiff(enc.outputs[VisionIO.crossAttentionStates].data as Float32Array, tensors.get('cross_attention_states')!.data);
      }
      const session = await engine.prefill(inputIds, vision, { allLogits: true });
      const prefillBytes = session.lastTransferBytes;
      const ref = tensors.get('logits')!.data;
      const V = engine.vocabSize;
      const T = inputIds.length;
      const perPosition: number[] = [];
      for (let t = 0; t < T; t++) perPosition.push(maxAbsDiff(session.allLogits.subarray(t * V, (t + 1) * V), ref.subarray(t * V, (t + 1) * V)));
      const refHidden = tensors.get('text_hidden_states')!.data;
      const per = T * engine.spec.text.hiddenSize;
      let hiddenMax = 0;
      session.hiddenStates.forEach((h, i) => (hiddenMax = Math.max(hiddenMax, maxAbsDiff(h, refHidden.subarray(i * per, (i + 1) * per)))));

      const expected = generation.new_token_ids;
      const tokens: number[] = [];
      let logits = session.logits;
      let stepBytes = 0;
      let decodeMax = 0;
      for (let i = 0; i < expected.length; i++) {
        const hf = generation.steps?.[i];
        if (hf) hf.top5_ids.forEach((id, j) => (decodeMax = Math.max(decodeMax, Math.abs(logits[id] - hf.top5_logits[j]))));
        const next = argmax(logits);
        tokens.push(next);
        if (i < expected.length - 1) {
          logits = await session.step(next);
          stepBytes += session.lastTransferBytes;
        }
      }
      session.dispose();
      const firstMismatch = tokens.findIndex((t, i) => t !== expected[i]);
      const maxDiff = perPosition.reduce((a, b) => Math.max(a, b), -Infinity);
      const tolerance = options.tolerance ?? VERIFY_TOLERANCE[dtype];
      return {
        case: basename(caseDir),
        dtype,
        pass: maxDiff <= tolerance && decodeMax <= tolerance && firstMismatch === -1,
        tolerance,
        positions: T,
        maxAbsDiff: maxDiff,
        hiddenMaxAbsDiff: hiddenMax,
        decodeMaxAbsDiff: decodeMax,
        crossStatesMaxAbsDiff,
        tokens,
        expectedTokens: expected,
        greedyMatch: firstMismatch === -1,
        firstMismatch,
        transferBytes: { prefill: prefillBytes, stepMean: expected.length > 1 ? stepBytes / (expected.length - 1) : 0 },
        ...(options.json ? { perPositionMaxAbsDiff: perPosition } : {}),
      };
    } finally {
      await engine.dispose();
    }
  } finally {
    if (!options.outDir) rmSync(outDir, { recursive: true, force: true });
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN propagates as a failure
  }
  return m;
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}
