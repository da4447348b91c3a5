import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel, MANIFEST_FILE } from './build.js';
import { OnnxEngine } from './engine.js';
import { readCaseInputs } from './verify.js';
import { writeTransformed } from '../testing/checkpoints.js';

const CASE = join(import.meta.dirname, '../../../../../shared/reference/mllama/tiny-a');
const dirs: string[] = [];
const temp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};

describe('OnnxEngine errors', () => {
  let out: string;
  let engine: OnnxEngine;
  beforeAll(async () => {
    out = temp('lookout-engine-');
    await buildModel(CASE, { outDir: out });
    engine = await OnnxEngine.load(out);
  }, 60_000);
  afterAll(async () => {
    await engine?.dispose();
    dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  });

  it('names the build command when a directory has no build', async () => {
    await expect(OnnxEngine.load(temp('lookout-empty-'))).rejects.toMatchObject({ code: 'ONNX_NOT_BUILT', message: expect.stringMatching(/lookout build/) });
  });

  it('rejects an empty prompt, wrong pixel sizes and a mask with the wrong row count', async () => {
    const { inputIds, vision } = await readCaseInputs(CASE);
    await expect(engine.prefill([])).rejects.toMatchObject({ code: 'ONNX_BAD_INPUT' });
    await expect(engine.prefill(inputIds, { ...vision!, pixelValues: new Float32Array(10) })).rejects.toMatchObject({ code: 'ONNX_BAD_INPUT', message: expect.stringMatching(/expected 9408/) });
    await expect(engine.prefill(inputIds, { ...vision!, tileSize: 56 })).rejects.toMatchObject({ code: 'ONNX_BAD_INPUT', message: expect.stringMatching(/4 tiles of 28px/) });
    await expect(engine.prefill(inputIds.slice(1), vision)).rejects.toMatchObject({ code: 'ONNX_BAD_INPUT', message: expect.stringMatching(/12 rows, expected one per prompt token \(11\)/) });
  });

  it('honours an aborted signal and refuses a disposed session', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(engine.prefill([128000, 5], undefined, { signal: controller.signal })).rejects.toMatchObject({ code: 'ONNX_ABORTED' });
    const s = await engine.prefill([128000, 5]);
    s.dispose();
    await expect(s.step(7)).rejects.toMatchObject({ code: 'ONNX_SESSION_DISPOSED' });
    await expect(s.step(-1)).rejects.toMatchObject({ code: 'ONNX_BAD_INPUT' });
  });

  it('a failed rebuild leaves the directory unbuilt rather than half-written', async () => {
    const model = temp('lookout-broken-');
    await writeTransformed(CASE, model, (_n, _s, v) => v);
    const target = temp('lookout-rebuild-');
    await buildModel(model, { outDir: target });
    expect(existsSync(join(target, MANIFEST_FILE))).toBe(true);
    // Same config, but the checkpoint lacks the final norm: the build fails half-way.
    const broken = temp('lookout-broken2-');
    await writeTransformed(CASE, broken, (_n, _s, v) => v, (name) => name !== 'language_model.model.norm.weight');
    await expect(buildModel(broken, { outDir: target })).rejects.toMatchObject({ message: expect.stringMatching(/language_model\.model\.norm\.weight/) });
    expect(existsSync(join(target, MANIFEST_FILE))).toBe(false);
    await expect(OnnxEngine.load(target)).rejects.toMatchObject({ code: 'ONNX_NOT_BUILT' });
  }, 60_000);

  it('refuses an unknown build dtype', async () => {
    await expect(buildModel(CASE, { dtype: 'q8' as never, outDir: temp('lookout-dt-') })).rejects.toMatchObject({ code: 'ONNX_BAD_DTYPE' });
  });
});
