// int4 builds take their lm_head storage and MatMulNBits accuracy level as build options,
// record them in the manifest, and a reused build must have been made with the same ones.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyCheckpoint } from '../tiny/index.js';
import { buildModel } from './build.js';

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
  it('records the CPU defaults (8-bit lm_head, accuracy level 4) in the manifest', async () => {
    const out = join(dir, 'onnx-int4-default');
    const { manifest } = await buildModel(dir, { dtype: 'int4', outDir: out });
    expect(manifest.int4).toEqual({ lmHead: 'int8', accuracyLevel: 4 });
    expect(hasAccuracyLevel(await readFile(join(out, manifest.decoder)))).toBe(true);
  });

  it('takes other settings as options, and reuses a build only when they match', async () => {
    const out = join(dir, 'onnx-int4');
    const first = await buildModel(dir, { dtype: 'int4', outDir: out, int4: { lmHead: 'int4', accuracyLevel: 0 } });
    expect(first.manifest.int4).toEqual({ lmHead: 'int4', accuracyLevel: 0 });
    const same = await buildModel(dir, { dtype: 'int4', outDir: out, int4: { lmHead: 'int4', accuracyLevel: 0 }, reuseExisting: true });
    expect(same.reused).toBe(true);
    const other = await buildModel(dir, { dtype: 'int4', outDir: out, int4: { lmHead: 'f16' }, reuseExisting: true });
    expect(other.reused).toBeUndefined();
    expect(other.manifest.int4).toEqual({ lmHead: 'f16', accuracyLevel: 4 });
    await expect(buildModel(dir, { dtype: 'int4', outDir: out, int4: { lmHead: 'int2' as never } })).rejects.toMatchObject({ code: 'ONNX_BAD_CONFIG' });
  });
});
