import { readFileSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsError } from './errors.js';
import { SafetensorsFile } from './safetensors-file.js';
import { HAVE_REFERENCE, REFERENCE_MLLAMA, rawSafetensors, withTempDir } from '../testing/safetensors-helpers.js';

async function expectCode(p: Promise<unknown>, code: string, ...inMessage: string[]): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SafetensorsError);
  expect((err as SafetensorsError).code).toBe(code);
  for (const s of inMessage) expect((err as Error).message).toContain(s);
}

describe.skipIf(!HAVE_REFERENCE)('SafetensorsFile on the reference checkpoints', () => {
  for (const name of ['tiny-a', 'tiny-text']) {
    it(`reads every tensor of ${name} byte-exactly`, async () => {
      const file = path.join(REFERENCE_MLLAMA, name, 'model.safetensors');
      // Independent parse of the whole file, only for comparison.
      const whole = readFileSync(file);
      const n = Number(whole.readBigUInt64LE(0));
      const header = JSON.parse(whole.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
      delete header.__metadata__;

      const st = await SafetensorsFile.open(file);
      try {
        expect(st.metadata).toEqual({ format: 'pt' });
        expect(st.tensors.map((t) => t.name)).toEqual(Object.keys(header).sort());
        for (const t of st.tensors) {
          const h = header[t.name];
          expect(t.dtype).toBe(h.dtype);
          expect(t.shape).toEqual(h.shape);
          const expected = whole.subarray(8 + n + h.data_offsets[0], 8 + n + h.data_offsets[1]);
          const raw = await st.readRaw(t.name);
          expect(raw.equals(expected)).toBe(true);
          const values = await st.readTensor(t.name);
          expect(values.length).toBe(t.shape.reduce((a, b) => a * b, 1));
          expect(values[values.length - 1]).toBe(expected.readFloatLE(expected.length - 4));
        }
        const embed = st.info('language_model.model.embed_tokens.weight');
        expect(embed.shape).toEqual([128264, 32]);
        // The reference sets every tanh gate to +-U(0.5, 1.5).
        const gate = await st.readTensor('language_model.model.layers.1.cross_attn_attn_gate');
        expect(Math.abs(gate[0])).toBeGreaterThanOrEqual(0.5);
        expect(Math.abs(gate[0])).toBeLessThanOrEqual(1.5);
      } finally {
        await st.close();
      }
    });
  }

  it('streams a tensor in chunks that concatenate to readRaw', async () => {
    const st = await SafetensorsFile.open(path.join(REFERENCE_MLLAMA, 'tiny-a', 'model.safetensors'));
    const name = 'language_model.lm_head.weight';
    const parts: Buffer[] = [];
    for await (const c of st.rawChunks(name, 1_000_003)) parts.push(c);
    expect(parts.length).toBe(Math.ceil(st.info(name).byteLength / 1_000_003));
    expect(Buffer.concat(parts).equals(await st.readRaw(name))).toBe(true);
    await st.close();
    await expectCode(st.readRaw(name), 'SAFETENSORS_CLOSED', name);
  });

  it('names the file and suggests similar names for an unknown tensor', async () => {
    const st = await SafetensorsFile.open(path.join(REFERENCE_MLLAMA, 'tiny-a', 'model.safetensors'));
    expect(() => st.info('language_model.model.layers.0.self_attn.q_proj.bias')).toThrowError(/no tensor named .*similar: language_model\.model\.layers\.0\.self_attn/);
    await st.close();
  });
});

describe('SafetensorsFile dtypes', () => {
  it('widens F16 and BF16, and reads integer and bool tensors', async () => {
    await withTempDir(async (dir) => {
      const f16 = new Uint16Array([0x3c00, 0xc200]); // 1, -3
      const bf16 = new Uint16Array([0x3f80, 0x4040]); // 1, 3
      const i64 = new BigInt64Array([5n, -6n]);
      const data = Buffer.concat([Buffer.from(i64.buffer), Buffer.from(f16.buffer), Buffer.from(bf16.buffer), Buffer.from([1, 0, 1])]);
      const file = path.join(dir, 'm.safetensors');
      await writeFile(
        file,
        rawSafetensors({
          i: { dtype: 'I64', shape: [2], data_offsets: [0, 16] },
          h: { dtype: 'F16', shape: [2], data_offsets: [16, 20] },
          b: { dtype: 'BF16', shape: [1, 2], data_offsets: [20, 24] },
          m: { dtype: 'BOOL', shape: [3], data_offsets: [24, 27] },
        }, data),
      );
      const st = await SafetensorsFile.open(file);
      expect([...(await st.readTensor('h'))]).toEqual([1, -3]);
      expect([...(await st.readTensor('b'))]).toEqual([1, 3]);
      expect([...(await st.readTensor('i'))]).toEqual([5, -6]);
      expect(await st.readTyped('i')).toEqual(i64);
      expect([...(await st.readTyped('h'))]).toEqual([...f16]);
      expect([...(await st.readTensor('m'))]).toEqual([1, 0, 1]);
      expect(st.info('h').byteOffset).toBe(st.dataStart + 16);
      await st.close();
    });
  });

  it('opens a multi-GB file reading only its header', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'big.safetensors');
      const big = 3 * 1024 ** 3; // a sparse file: only the header and the last tensor are real bytes
      const header = rawSafetensors({
        huge: { dtype: 'F32', shape: [big / 4], data_offsets: [0, big] },
        tail: { dtype: 'F32', shape: [2], data_offsets: [big, big + 8] },
      });
      const h = await open(file, 'w');
      await h.write(header, 0, header.length, 0);
      await h.write(Buffer.from(new Float32Array([7, 8]).buffer), 0, 8, header.length + big);
      await h.close();
      const before = process.memoryUsage().rss;
      const st = await SafetensorsFile.open(file);
      expect(st.info('huge').byteLength).toBe(big);
      expect([...(await st.readTensor('tail'))]).toEqual([7, 8]);
      expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
      await st.close();
    });
  });
});

describe('SafetensorsFile header validation', () => {
  const cases: Array<[string, Buffer, string, string[]]> = [
    ['a file shorter than 8 bytes', Buffer.from([1, 2, 3]), 'SAFETENSORS_HEADER_INVALID', ['8-byte']],
    ['a header length past the end', (() => { const b = rawSafetensors({}); b.writeBigUInt64LE(999n); return b; })(), 'SAFETENSORS_TRUNCATED', ['999']],
    ['a header that is not JSON', rawSafetensors(null, undefined, '{"a": [1,'), 'SAFETENSORS_HEADER_INVALID', ['JSON']],
    ['a header that is an array', rawSafetensors([1, 2]), 'SAFETENSORS_HEADER_INVALID', ['JSON object']],
    ['an unknown dtype', rawSafetensors({ w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, new Uint8Array(16)), 'SAFETENSORS_HEADER_INVALID', ['"w"', 'F128', 'BF16']],
    ['a fractional shape', rawSafetensors({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, new Uint8Array(4)), 'SAFETENSORS_HEADER_INVALID', ['"w"', 'shape']],
    ['a size that does not match dtype x shape', rawSafetensors({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, new Uint8Array(20)), 'SAFETENSORS_HEADER_INVALID', ['"w"', '20 bytes', 'needs 24']],
    ['offsets past the data', rawSafetensors({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)), 'SAFETENSORS_HEADER_INVALID', ['"w"', 'past the data section']],
    ['begin after end', rawSafetensors({ w: { dtype: 'U8', shape: [0], data_offsets: [4, 2] } }, new Uint8Array(8)), 'SAFETENSORS_HEADER_INVALID', ['"w"', 'begin after end']],
    ['overlapping tensors', rawSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)), 'SAFETENSORS_HEADER_INVALID', ['"b"', 'overlaps tensor "a"']],
    ['non-string metadata', rawSafetensors({ __metadata__: { format: 1 } }), 'SAFETENSORS_HEADER_INVALID', ['__metadata__.format']],
  ];
  for (const [what, bytes, code, parts] of cases) {
    it(`refuses ${what}`, async () => {
      await withTempDir(async (dir) => {
        const file = path.join(dir, 'bad.safetensors');
        await writeFile(file, bytes);
        await expectCode(SafetensorsFile.open(file), code, file, ...parts);
      });
    });
  }

  it('reports a missing file', async () => {
    await expectCode(SafetensorsFile.open('/nonexistent/model.safetensors'), 'SAFETENSORS_NOT_FOUND', '/nonexistent/model.safetensors', 'ENOENT');
  });
});
