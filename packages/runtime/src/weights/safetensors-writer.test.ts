import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bf16BitsToF32, dtypeByteSize, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import { SafetensorsFile } from './safetensors-file.js';
import { SafetensorsWriter, writeSafetensors } from './safetensors-writer.js';
import { HAVE_REFERENCE, REFERENCE_MLLAMA, withTempDir } from '../testing/safetensors-helpers.js';

describe.skipIf(!HAVE_REFERENCE)('SafetensorsWriter against the reference checkpoints', () => {
  for (const name of ['tiny-a', 'tiny-text']) {
    it(`rewrites ${name}/model.safetensors byte for byte (HF layout)`, async () => {
      await withTempDir(async (dir) => {
        const refPath = path.join(REFERENCE_MLLAMA, name, 'model.safetensors');
        const ref = await SafetensorsFile.open(refPath);
        const out = path.join(dir, 'model.safetensors');
        // Declared in reverse order and written in reverse order: layout must not depend on either.
        const decl = [...ref.tensors].reverse().map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
        const w = await SafetensorsWriter.create(out, decl);
        for (const t of decl) await w.write(t.name, await ref.readTensor(t.name));
        await w.close();
        await ref.close();
        expect(readFileSync(out).equals(readFileSync(refPath))).toBe(true);
      });
    });
  }

  for (const dtype of ['BF16', 'F16'] as const) {
    it(`writes the tiny-a weights as ${dtype} and reads back the rounded values`, async () => {
      await withTempDir(async (dir) => {
        const ref = await SafetensorsFile.open(path.join(REFERENCE_MLLAMA, 'tiny-a', 'model.safetensors'));
        const out = path.join(dir, 'half.safetensors');
        const w = await SafetensorsWriter.create(out, ref.tensors.map((t) => ({ name: t.name, dtype, shape: t.shape })));
        for (const t of ref.tensors) await w.write(t.name, await ref.readTensor(t.name));
        await w.close();
        const half = await SafetensorsFile.open(out);
        expect(half.fileSize).toBeLessThan(ref.fileSize / 2 + 20_000);
        for (const t of ref.tensors) {
          const original = await ref.readTensor(t.name);
          const back = await half.readTensor(t.name);
          expect(half.info(t.name).dtype).toBe(dtype);
          const expected = dtype === 'BF16' ? bf16BitsToF32(f32ToBf16Bits(original)) : f16BitsToF32(f32ToF16Bits(original));
          // Compared as bytes: toEqual on million-element arrays is needlessly slow.
          expect(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(Buffer.from(expected.buffer))).toBe(true);
          // Rounding error stays within half an ulp of the format (8 / 11 significant bits).
          const rel = dtype === 'BF16' ? 2 ** -8 : 2 ** -11;
          for (let i = 0; i < original.length; i += 97) {
            expect(Math.abs(back[i] - original[i])).toBeLessThanOrEqual(Math.abs(original[i]) * rel + 2 ** -24);
          }
        }
        await half.close();
        await ref.close();
      });
    });
  }
});

describe('SafetensorsWriter', () => {
  it('accepts a tensor in several pieces and mixed dtypes, keeping each aligned', async () => {
    await withTempDir(async (dir) => {
      const out = path.join(dir, 'mixed.safetensors');
      const w = await SafetensorsWriter.create(
        out,
        [
          { name: 'mask', dtype: 'BOOL', shape: [3] },
          { name: 'ids', dtype: 'I64', shape: [2] },
          { name: 'w', dtype: 'F32', shape: [2, 3] },
          { name: 'h', dtype: 'F16', shape: [3] },
          { name: 'scalar', dtype: 'F32', shape: [] },
          { name: 'empty', dtype: 'F32', shape: [0, 4] },
        ],
        { metadata: { format: 'pt', source: 'test' } },
      );
      await w.write('w', new Float32Array([1, 2, 3]));
      await w.write('w', new Float32Array([4, 5, 6]));
      await w.write('mask', new Uint8Array([1, 0, 1]));
      await w.write('ids', new BigInt64Array([10n, -20n]));
      await w.write('h', new Float32Array([0.5, -1, 65504]));
      await w.write('scalar', new Float32Array([3.25]));
      await w.close();
      expect(readdirSync(path.dirname(out)).filter((f) => f.endsWith('.partial'))).toEqual([]);

      const st = await SafetensorsFile.open(out);
      expect(st.metadata).toEqual({ format: 'pt', source: 'test' });
      expect((8 + st.headerLength) % 8).toBe(0);
      for (const t of st.tensors) expect(t.byteOffset % dtypeByteSize(t.dtype)).toBe(0);
      expect([...(await st.readTensor('w'))]).toEqual([1, 2, 3, 4, 5, 6]);
      expect([...(await st.readTensor('mask'))]).toEqual([1, 0, 1]);
      expect(await st.readTyped('ids')).toEqual(new BigInt64Array([10n, -20n]));
      expect([...(await st.readTensor('h'))]).toEqual([0.5, -1, 65504]);
      expect(st.info('scalar').shape).toEqual([]);
      expect([...(await st.readTensor('scalar'))]).toEqual([3.25]);
      expect((await st.readTensor('empty')).length).toBe(0);
      // The widest dtype comes first in the data section.
      expect(st.info('ids').byteOffset).toBe(st.dataStart);
      await st.close();
    });
  });

  it('refuses bad declarations and writes, with typed errors naming the tensor', async () => {
    await withTempDir(async (dir) => {
      const out = path.join(dir, 'x.safetensors');
      const codeOf = async (p: Promise<unknown>) => ((await p.then(() => undefined, (e: unknown) => e)) as SafetensorsError | undefined)?.code;
      expect(await codeOf(SafetensorsWriter.create(out, [{ name: 'a', dtype: 'F32', shape: [1] }, { name: 'a', dtype: 'F32', shape: [1] }]))).toBe('SAFETENSORS_WRITE_INVALID');
      expect(await codeOf(SafetensorsWriter.create(out, [{ name: 'a', dtype: 'F12' as 'F32', shape: [1] }]))).toBe('SAFETENSORS_WRITE_INVALID');
      expect(await codeOf(SafetensorsWriter.create(out, [{ name: 'a', dtype: 'F32', shape: [-1] }]))).toBe('SAFETENSORS_WRITE_INVALID');

      const w = await SafetensorsWriter.create(out, [
        { name: 'a', dtype: 'F32', shape: [2] },
        { name: 'n', dtype: 'I32', shape: [1] },
      ]);
      await expect(w.write('a', new Float32Array(3))).rejects.toThrow(/"a" would receive 12 bytes but F32 x \[2\] holds 8/);
      await expect(w.write('zzz', new Float32Array(1))).rejects.toThrow(/"zzz" was not declared/);
      await expect(w.write('n', new Float32Array(1))).rejects.toThrow(/"n" is I32; a Float32Array converts only to/);
      await w.write('a', new Float32Array(2));
      const err = await w.close().then(() => undefined, (e: unknown) => e);
      expect((err as SafetensorsError).code).toBe('SAFETENSORS_WRITE_INVALID');
      expect((err as Error).message).toContain('"n" is incomplete (0 of 4 bytes)');
      // Nothing half-written is left behind.
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(path.dirname(out)).filter((f) => f.endsWith('.partial'))).toEqual([]);
    });
  });

  it('writeSafetensors writes a complete file in one call', async () => {
    await withTempDir(async (dir) => {
      const out = path.join(dir, 'one.safetensors');
      await writeSafetensors(out, [{ name: 'b', dtype: 'BF16', shape: [2], data: new Float32Array([1.5, -2]) }]);
      const st = await SafetensorsFile.open(out);
      expect([...(await st.readTensor('b'))]).toEqual([1.5, -2]);
      await st.close();
    });
  });
});
