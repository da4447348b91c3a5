import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../main.js';
import { captureIo } from '../test-support.js';

const CASE = join(import.meta.dirname, '../../../../../../shared/reference/mllama/tiny-text');

const io = captureIo;

describe('lookout build', () => {
  it('builds a checkpoint directory into --out and writes the manifest', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lookout-cli-build-'));
    try {
      const c = io();
      const code = await runCli(['build', CASE, '--dtype', 'fp16', '--out', out, '--quiet'], c.io);
      expect(code).toBe(0);
      expect(c.out()).toMatch(/built mllama \(fp16, f16 compute\)/);
      const manifest = JSON.parse(readFileSync(join(out, 'lookout-onnx.json'), 'utf8'));
      expect(manifest.dtype).toBe('fp16');
      expect(existsSync(join(out, 'decoder.onnx'))).toBe(true);
      expect(existsSync(join(out, 'vision.onnx'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);

  it('rejects an unknown dtype with a usage error', async () => {
    const c = io();
    expect(await runCli(['build', CASE, '--dtype', 'q8'], c.io)).toBe(2);
    expect(c.err()).toMatch(/--dtype "q8" is not accepted; use one of fp32, fp16, int4/);
  });

  it('builds int4 with f16 compute for CUDA, and refuses fp32 weights with f16 compute', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lookout-cli-build-'));
    try {
      const c = io();
      expect(await runCli(['build', CASE, '--dtype', 'int4', '--compute', 'f16', '--out', out, '--quiet'], c.io)).toBe(0);
      expect(c.out()).toMatch(/built mllama \(int4, f16 compute, lm_head f16, accuracy level 0, embeddings f16, blocks of 32\)/);
      expect(JSON.parse(readFileSync(join(out, 'lookout-onnx.json'), 'utf8')).computeType).toBe('float16');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    const bad = io();
    expect(await runCli(['build', CASE, '--dtype', 'fp32', '--compute', 'f16'], bad.io)).toBe(2);
    expect(bad.err()).toMatch(/use --dtype fp16/);
    const odd = io();
    expect(await runCli(['build', CASE, '--compute', 'bf16'], odd.io)).toBe(2);
    expect(odd.err()).toMatch(/--compute "bf16" is not accepted; use f32 or f16/);
  }, 60_000);

  it('takes the int4 lm_head, accuracy level, embeddings and block size as flags, and refuses them for other dtypes', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lookout-cli-build-'));
    try {
      const c = io();
      expect(await runCli(['build', CASE, '--dtype', 'int4', '--lm-head', 'int4', '--accuracy-level', '0', '--embeddings', 'int4', '--block-size', '64', '--out', out, '--quiet'], c.io)).toBe(0);
      expect(c.out()).toMatch(/built mllama \(int4, f32 compute, lm_head int4, accuracy level 0, embeddings int4, blocks of 64\)/);
      expect(JSON.parse(readFileSync(join(out, 'lookout-onnx.json'), 'utf8')).int4).toEqual({ lmHead: 'int4', accuracyLevel: 0, embeddings: 'int4', blockSize: 64 });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    const wrong = io();
    expect(await runCli(['build', CASE, '--dtype', 'fp32', '--lm-head', 'int8'], wrong.io)).toBe(2);
    expect(wrong.err()).toMatch(/apply to --dtype int4 only/);
    const odd = io();
    expect(await runCli(['build', CASE, '--dtype', 'int4', '--accuracy-level', '2'], odd.io)).toBe(2);
    expect(odd.err()).toMatch(/--accuracy-level "2" is not accepted; use 0 or 4/);
    const emb = io();
    expect(await runCli(['build', CASE, '--dtype', 'int4', '--embeddings', 'int2'], emb.io)).toBe(2);
    expect(emb.err()).toMatch(/--embeddings "int2" is not accepted; use f16, int8 or int4/);
    const block = io();
    expect(await runCli(['build', CASE, '--dtype', 'int4', '--block-size', '48'], block.io)).toBe(2);
    expect(block.err()).toMatch(/--block-size "48" is not accepted; use 32, 64 or 128/);
  }, 60_000);

  it('names the directory when it is not a model directory', async () => {
    const c = io();
    expect(await runCli(['build', '/nonexistent-model-dir', '--quiet'], c.io)).toBe(1);
    expect(c.err()).toMatch(/no config.json in \/nonexistent-model-dir.*\[ONNX_BAD_CONFIG\]/);
  });
});
