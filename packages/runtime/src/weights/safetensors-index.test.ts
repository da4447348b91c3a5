import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsError } from './errors.js';
import { SafetensorsFile } from './safetensors-file.js';
import { SafetensorsIndex } from './safetensors-index.js';
import { writeSafetensors } from './safetensors-writer.js';
import { HAVE_REFERENCE, REFERENCE_MLLAMA, withTempDir } from '../testing/safetensors-helpers.js';

async function errorOf(p: Promise<unknown>): Promise<SafetensorsError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SafetensorsError);
  return err as SafetensorsError;
}

describe.skipIf(!HAVE_REFERENCE)('SafetensorsIndex', () => {
  it('opens a single-file directory', async () => {
    const idx = await SafetensorsIndex.open(path.join(REFERENCE_MLLAMA, 'tiny-text'));
    expect(idx.files.length).toBe(1);
    expect(idx.has('language_model.lm_head.weight')).toBe(true);
    expect((await idx.readTensor('language_model.model.norm.weight')).length).toBe(32);
    await idx.close();
  });

  it('serves a sharded checkpoint under the same API as the single file', async () => {
    await withTempDir(async (dir) => {
      const ref = await SafetensorsFile.open(path.join(REFERENCE_MLLAMA, 'tiny-a', 'model.safetensors'));
      const names = ref.tensors.map((t) => t.name);
      const shards = [names.filter((_, i) => i % 3 !== 0), names.filter((_, i) => i % 3 === 0)];
      const weightMap: Record<string, string> = {};
      for (const [i, shard] of shards.entries()) {
        const file = `model-0000${i + 1}-of-00002.safetensors`;
        const tensors = [];
        for (const n of shard) {
          const t = ref.info(n);
          tensors.push({ name: n, dtype: t.dtype, shape: t.shape, data: await ref.readTensor(n) });
          weightMap[n] = file;
        }
        await writeSafetensors(path.join(dir, file), tensors);
      }
      await writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 123 }, weight_map: weightMap }));

      const idx = await SafetensorsIndex.open(dir);
      expect(idx.files.length).toBe(2);
      expect(idx.metadata).toEqual({ total_size: 123 });
      expect(idx.tensors.map((t) => t.name)).toEqual(names);
      for (const n of names) {
        expect((await idx.readRaw(n)).equals(await ref.readRaw(n))).toBe(true);
        expect(path.basename(idx.info(n).file)).toBe(weightMap[n]);
      }
      const err = await errorOf(idx.readTensor('nope'));
      expect(err.code).toBe('SAFETENSORS_TENSOR_NOT_FOUND');
      await idx.close();

      // A weight_map entry whose shard lacks the tensor is refused at open.
      weightMap['extra.weight'] = 'model-00001-of-00002.safetensors';
      await writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
      const bad = await errorOf(SafetensorsIndex.open(dir));
      expect(bad.code).toBe('SAFETENSORS_INDEX_INVALID');
      expect(bad.message).toContain('weight_map["extra.weight"]');

      // A missing shard file is named.
      weightMap['extra.weight'] = 'model-00003-of-00003.safetensors';
      await writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
      const missing = await errorOf(SafetensorsIndex.open(dir));
      expect(missing.code).toBe('SAFETENSORS_NOT_FOUND');
      expect(missing.message).toContain('model-00003-of-00003.safetensors');
      await ref.close();
    });
  });
});

describe('SafetensorsIndex errors', () => {
  it('names what it looked for in an empty directory', async () => {
    await withTempDir(async (dir) => {
      const err = await errorOf(SafetensorsIndex.open(dir));
      expect(err.code).toBe('SAFETENSORS_NOT_FOUND');
      expect(err.message).toContain('model.safetensors.index.json');
    });
  });

  it('refuses an index without a weight_map and shard paths leaving the directory', async () => {
    await withTempDir(async (dir) => {
      const index = path.join(dir, 'model.safetensors.index.json');
      await writeFile(index, JSON.stringify({ metadata: {} }));
      expect((await errorOf(SafetensorsIndex.open(dir))).message).toContain('weight_map');
      await writeFile(index, JSON.stringify({ weight_map: { a: '../elsewhere.safetensors' } }));
      expect((await errorOf(SafetensorsIndex.open(dir))).code).toBe('SAFETENSORS_INDEX_INVALID');
      await writeFile(index, '{not json');
      expect((await errorOf(SafetensorsIndex.open(dir))).code).toBe('SAFETENSORS_INDEX_INVALID');
    });
  });
});
