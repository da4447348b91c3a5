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
      expect(c.out()).toMatch(/built mllama \(fp16\)/);
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

  it('names the directory when it is not a model directory', async () => {
    const c = io();
    expect(await runCli(['build', '/nonexistent-model-dir', '--quiet'], c.io)).toBe(1);
    expect(c.err()).toMatch(/no config.json in \/nonexistent-model-dir.*\[ONNX_BAD_CONFIG\]/);
  });
});
