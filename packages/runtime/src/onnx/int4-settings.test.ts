// int4 builds take their lm_head and embedding storage and MatMulNBits accuracy level as build options,
// record them in the manifest, and a reused build must have been made with the same ones.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyCheckpoint } from '../tiny/index.js';
import { buildModel, GRAPH_REVISION, MANIFEST_FILE } from './build.js';
import { OnnxEngine } from './engine.js';
import { dequantizeInt4, dequantizeInt8, quantizeInt4, quantizeInt8 } from './int4.js';
import { maxAbsDiff } from './verify.js';
import { SafetensorsIndex } from '../weights/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'int4-settings-'));
  await writeTinyCheckpoint(dir, { arch: 'llama', seed: 3 });
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Whether the serialised graph has MatMulNBits nodes with an accuracy_level attribute. */
const hasAccuracyLevel = (graph: Buffer) => graph.toString('latin1').includes('accuracy_level');

describe('int4 build settings', () => {
  it('records the CPU defaults (8-bit lm_head, accuracy level 4, 8-bit embeddings, blocks of 32) in the manifest', async () => {
    const out = join(dir, 'onnx-int4-default');
    const { manifest } = await buildModel(dir, { dtype: 'int4', outDir: out });
    expect(manifest.int4).toEqual({ lmHead: 'int8', accuracyLevel: 4, embeddings: 'int8', blockSize: 32 });
    expect(hasAccuracyLevel(await readFile(join(out, manifest.decoder)))).toBe(true);
  });

  it('rebuilds, instead of reusing, a build whose graphs are of an older revision', async () => {
    const out = join(dir, 'onnx-int4-revision');
    const first = await buildModel(dir, { dtype: 'int4', outDir: out });
    expect(first.manifest.graphRevision).toBe(GRAPH_REVISION);
    expect((await buildModel(dir, { dtype: 'int4', outDir: out, reuseExisting: true })).reused).toBe(true);
    const { graphRevision: _, ...older } = first.manifest;
    await writeFile(join(out, MANIFEST_FILE), JSON.stringify(older));
    const again = await buildModel(dir, { dtype: 'int4', outDir: out, reuseExisting: true });
    expect(again.reused).toBeUndefined();
    expect(again.manifest.graphRevision).toBe(GRAPH_REVISION);
  });

  it('takes other settings as options, and reuses a build only when they match', async () => {
    const out = join(dir, 'onnx-int4');
    const first = await buildModel(dir, { dtype: 'int4', outDir: out, int4: { lmHead: 'int4', accuracyLevel: 0, blockSize: 64 } });
    expect(first.manifest.int4).toEqual({ lmHead: 'int4', accuracyLevel: 0, embeddings: 'int8', blockSize: 64 });
    const same = await buildModel(dir, { dtype: 'int4', outDir: out, int4: { lmHead: 'int4', accuracyLevel: 0, blockSize: 64 }, reuseExisting: true });
    expect(same.reused).toBe(true);
    const other = await buildModel(dir, { dtype: 'int4', outDir: out, int4: { lmHead: 'f16' }, reuseExisting: true });
    expect(other.reused).toBeUndefined();
    expect(other.manifest.int4).toEqual({ lmHead: 'f16', accuracyLevel: 4, embeddings: 'int8', blockSize: 32 });
    const wider = await buildModel(dir, { dtype: 'int4', outDir: out, int4: { lmHead: 'f16', blockSize: 128 }, reuseExisting: true });
    expect(wider.reused).toBeUndefined();
    expect(wider.manifest.int4?.blockSize).toBe(128);
    const f16Table = await buildModel(dir, { dtype: 'int4', outDir: out, int4: { lmHead: 'f16', embeddings: 'f16' }, reuseExisting: true });
    expect(f16Table.reused).toBeUndefined();
    await expect(buildModel(dir, { dtype: 'int4', outDir: out, int4: { lmHead: 'int2' as never } })).rejects.toMatchObject({ code: 'ONNX_BAD_CONFIG' });
    await expect(buildModel(dir, { dtype: 'int4', outDir: out, int4: { embeddings: 'int2' as never } })).rejects.toMatchObject({ code: 'ONNX_BAD_CONFIG' });
    await expect(buildModel(dir, { dtype: 'int4', outDir: out, int4: { blockSize: 48 as never } })).rejects.toMatchObject({ code: 'ONNX_BAD_CONFIG' });
  });
});

describe('quantised embeddings', () => {
  // Width 32 takes blocks of 32 whatever the setting (64 does not divide it); width 128 the blocks asked for.
  it.each([
    { width: 32, blockSize: 64 as const, block: 32 },
    { width: 128, blockSize: 128 as const, block: 128 },
  ])('gathers exactly the dequantised 8-bit or 4-bit rows of the table (GatherBlockQuantized), width $width, blockSize $blockSize', async ({ width, blockSize, block }) => {
    let model = dir;
    if (width !== 32) {
      model = join(dir, `wide-${width}`);
      await writeTinyCheckpoint(model, { arch: 'llama', seed: 4, hidden: width, layers: 1, heads: 4, kvHeads: 2, intermediate: 2 * width });
    }
    const table = await (await SafetensorsIndex.open(model)).readTensor('model.embed_tokens.weight');
    const rows = 128256;
    expect(table.length).toBe(rows * width);
    const ids = [0, 5, 128000, 70000, 128255, 5];
    for (const [bits, quantize, dequantize] of [
      [4, quantizeInt4, dequantizeInt4],
      [8, quantizeInt8, dequantizeInt8],
    ] as const) {
      const out = join(model, `onnx-int4-emb${bits}-b${blockSize}`);
      await buildModel(model, { dtype: 'int4', outDir: out, hiddenStates: true, int4: { embeddings: bits === 4 ? 'int4' : 'int8', blockSize } });
      const engine = await OnnxEngine.load(out, { prefixCache: false });
      try {
        const session = await engine.prefill(ids);
        const gathered = session.hiddenStates[0];
        for (const [t, id] of ids.entries()) {
          const row = table.subarray(id * width, (id + 1) * width);
          const expected = dequantize(quantize(row, 1, width, block), 1, width, block);
          expect(Array.from(gathered.subarray(t * width, (t + 1) * width))).toEqual(Array.from(expected));
          // and it is a quantisation: off the f32 row by at most one step of its widest block's range
          const step = (Math.max(0, ...row) - Math.min(0, ...row)) / (bits === 4 ? 15 : 255);
          const error = maxAbsDiff(gathered.subarray(t * width, (t + 1) * width), row);
          expect(error).toBeGreaterThan(0);
          expect(error).toBeLessThanOrEqual(step);
        }
        session.dispose();
      } finally {
        await engine.dispose();
      }
    }
  }, 120_000);
});
