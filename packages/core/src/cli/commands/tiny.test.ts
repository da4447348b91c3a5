import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelDirectory, SafetensorsFile } from '@lookout/runtime';
import { runCommand } from '../test-support.js';
import tiny from './tiny.js';

const run = (argv: string[]) => runCommand(tiny, argv);

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lookout-cli-tiny-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('lookout tiny', () => {
  it('writes a bf16 llama checkpoint with the requested sizes', async () => {
    const dir = path.join(root, 'llama');
    const { code, out } = await run([dir, '--arch', 'llama', '--seed', '5', '--dtype', 'bf16', '--hidden', '64', '--layers', '3', '--no-tokenizer']);
    expect(code).toBe(0);
    expect(out).toContain('wrote llama checkpoint');
    expect(out).toContain('hidden 64, layers 3');
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors']);
    const m = await loadModelDirectory(dir);
    expect(m.config.text).toMatchObject({ hidden: 64, layers: 3 });
    expect(m.config.torchDtype).toBe('bfloat16');
    const st = await SafetensorsFile.open(path.join(dir, 'model.safetensors'));
    expect(st.info('model.embed_tokens.weight')).toMatchObject({ dtype: 'BF16', shape: [128256, 64] });
    await st.close();
  });

  it('writes an mllama checkpoint with vision options and refuses to overwrite without --force', async () => {
    const dir = path.join(root, 'mllama');
    const first = await run([dir, '--tiles', '2', '--vision-layers', '2', '--cross-layers', '0,2', '--no-tokenizer']);
    expect(first.code).toBe(0);
    const m = await loadModelDirectory(dir, { require: ['preprocessor'] });
    expect(m.config.text.crossAttentionLayers).toEqual([0, 2]);
    expect(m.config.vision).toMatchObject({ layers: 2, maxNumTiles: 2, intermediateLayersIndices: [1] });
    const again = await run([dir, '--no-tokenizer']);
    expect(again.code).toBe(1);
    expect(again.err).toContain('--force');
    expect((await run([dir, '--no-tokenizer', '--force'])).code).toBe(0);
  });

  it('exits 2 with a clear message for bad options', async () => {
    const dir = path.join(root, 'bad');
    for (const [argv, text] of [
      [[dir, '--arch', 'gpt2'], '--arch must be mllama or llama'],
      [[dir, '--dtype', 'f64'], '--dtype must be f32, f16 or bf16'],
      [[dir, '--hidden', 'abc'], '--hidden must be a non-negative integer'],
      [[dir, '--heads', '5'], 'option "heads" (5) must divide hidden (32)'],
      [[dir, '--cross-layers', '1;3'], '--cross-layers must be'],
      [[], 'expected exactly one output directory'],
    ] as Array<[string[], string]>) {
      const { code, err } = await run(argv);
      expect(code, argv.join(' ')).toBe(2);
      expect(err).toContain(text);
    }
  });
});
