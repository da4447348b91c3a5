import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { buildModel } from './build.js';
import { writeTinyCheckpoint } from '../tiny/index.js';
import { useTempDirs } from '../testing/temp-dirs.js';

const temp = useTempDirs();
const REF = join(import.meta.dirname, '../../../../../shared/reference/mllama/tiny-a');

/** Every op type in a graph file, subgraphs (the decode Loop's body) included. */
function opTypes(path: string): Set<string> {
  const seen = new Set<string>();
  const walk = (g: onnxProto.onnx.IGraphProto) => {
    for (const n of g.node ?? []) {
      seen.add(n.domain ? `${n.domain}.${n.opType}` : n.opType!);
      for (const a of n.attribute ?? []) if (a.g) walk(a.g);
    }
  };
  walk(onnxProto.onnx.ModelProto.decode(readFileSync(path)).graph!);
  return seen;
}

describe('which contrib ops a build uses', () => {
  it('head_dim 8 (tiny-a): RotaryEmbedding and SimplifiedLayerNormalization fused, attention plain; MultiHeadAttention in the vision graph', async () => {
    const out = (await buildModel(REF, { outDir: temp('lookout-ops-') })).outDir;
    const dec = opTypes(join(out, 'decoder.onnx'));
    expect(dec.has('com.microsoft.RotaryEmbedding')).toBe(true);
    expect(dec.has('com.microsoft.GroupQueryAttention')).toBe(false);
    expect(dec.has('SimplifiedLayerNormalization')).toBe(true);
    expect(opTypes(join(out, 'vision.onnx')).has('com.microsoft.MultiHeadAttention')).toBe(true);
  }, 60_000);

  it('head_dim 16: GroupQueryAttention rotates itself, the decode loop rotates with RotaryEmbedding; int4 adds MatMulNBits; --plain uses none of them', async () => {
    const model = temp('lookout-ops-model-');
    await writeTinyCheckpoint(model, { arch: 'llama', hidden: 64, heads: 4, kvHeads: 2, layers: 2, intermediate: 96, tokenizer: false });
    const fused = opTypes(join((await buildModel(model, { dtype: 'int4', outDir: temp('lookout-ops-') })).outDir, 'decoder.onnx'));
    expect(fused.has('com.microsoft.GroupQueryAttention')).toBe(true);
    // The loop body attends over its split cache with plain ops and rotates with the same tables.
    expect(fused.has('com.microsoft.RotaryEmbedding')).toBe(true);
    expect(fused.has('com.microsoft.MatMulNBits')).toBe(true);
    const plain = opTypes(join((await buildModel(model, { fused: false, outDir: temp('lookout-ops-') })).outDir, 'decoder.onnx'));
    expect([...plain].filter((op) => op.startsWith('com.microsoft.') || op === 'SimplifiedLayerNormalization')).toEqual([]);
  }, 60_000);
});
