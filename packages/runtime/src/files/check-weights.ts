import type { TensorInfo } from '../weights/index.js';
import { ModelFileError } from './errors.js';
import type { ModelConfig } from './model-config.js';
import { expectedParameters, type ParameterSpec } from './parameter-layout.js';

export interface WeightsReport {
  ok: boolean;
  /** Parameters the config calls for that the checkpoint lacks. */
  missing: ParameterSpec[];
  /** Tensors in the checkpoint the config does not call for. */
  unexpected: string[];
  wrongShape: Array<{ name: string; expected: number[]; actual: number[] }>;
}

/** Compares a checkpoint's tensor list (names and shapes only; no data is read) with its config. */
export function checkWeights(config: ModelConfig, weights: { tensors: readonly TensorInfo[] }): WeightsReport {
  const present = new Map(weights.tensors.map((t) => [t.name, t]));
  const expected = expectedParameters(config);
  const missing: ParameterSpec[] = [];
  const wrongShape: WeightsReport['wrongShape'] = [];
  for (const p of expected) {
    const t = present.get(p.name);
    if (!t) missing.push(p);
    else if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      wrongShape.push({ name: p.name, expected: p.shape, actual: t.shape });
    }
  }
  const wanted = new Set(expected.map((p) => p.name));
  const unexpected = weights.tensors.map((t) => t.name).filter((n) => !wanted.has(n));
  return { ok: missing.length === 0 && unexpected.length === 0 && wrongShape.length === 0, missing, unexpected, wrongShape };
}

/** Throws MODEL_WEIGHTS_MISMATCH naming the first few differences when the report is not ok. */
export function assertWeightsMatch(config: ModelConfig, weights: { tensors: readonly TensorInfo[] }, where: string): void {
  const r = checkWeights(config, weights);
  if (r.ok) return;
  const parts: string[] = [];
  if (r.missing.length) parts.push(`missing ${r.missing.length} (${r.missing.slice(0, 3).map((p) => p.name).join(', ')}${r.missing.length > 3 ? ', ...' : ''})`);
  if (r.wrongShape.length) {
    const w = r.wrongShape[0];
    parts.push(`${r.wrongShape.length} with the wrong shape (${w.name}: [${w.actual.join(', ')}], config implies [${w.expected.join(', ')}])`);
  }
  if (r.unexpected.length) parts.push(`${r.unexpected.length} unexpected (${r.unexpected.slice(0, 3).join(', ')}${r.unexpected.length > 3 ? ', ...' : ''})`);
  throw new ModelFileError('MODEL_WEIGHTS_MISMATCH', `${where}: weights do not match config.json: ${parts.join('; ')}`, where);
}
