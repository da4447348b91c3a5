import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, A } from './graph-builder.js';
import { ExternalDataWriter } from './external-data.js';
import { quantizeInt4, dequantizeInt4, quantizeInt8, dequantizeInt8 } from './int4.js';
import { bytesOf } from './weights.js';
import { gaussian } from '../testing/checkpoints.js';
import { maxAbsDiff } from './verify.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('int4 block quantisation for MatMulNBits', () => {
  it('round-trips within half a step inside each block\'s range; weights outside it clip to the end levels', () => {
    const rnd = gaussian(1);
    const w = Float32Array.from({ length: 8 * 64 }, rnd);
    const q = quantizeInt4(w, 8, 64, 32);
    const back = dequantizeInt4(q, 8, 64, 32);
    for (let r = 0; r < 8; r++)
      for (let b = 0; b < 2; b++) {
        const step = q.scales[r * 2 + b];
        const zp = (q.zeroPoints[r] >> (b * 4)) & 15;
        for (let j = 0; j < 32; j++) {
          const x = w[r * 64 + b * 32 + j];
          const raw = Math.round(x / step) + zp;
          const got = back[r * 64 + b * 32 + j];
          if (raw > 15) expect(got).toBeCloseTo((15 - zp) * step, 6);
          else if (raw < 0) expect(got).toBeCloseTo(-zp * step, 6);
          else expect(Math.abs(got - x)).toBeLessThanOrEqual(step / 2 + 1e-6);
        }
      }
    // zeros are exact
    const z = new Float32Array(64);
    z.set([0.5, -0.25, 3], 0);
    const zq = quantizeInt4(z, 1, 64, 32);
    const zb = dequantizeInt4(zq, 1, 64, 32);
    for (let j = 3; j < 64; j++) expect(zb[j]).toBe(0);
  });

  it('narrows a block\'s range where that lowers its rounding error: never worse than the min/max range, better on the whole', () => {
    const rnd = gaussian(5);
    const sse = (a: Float32Array, b: Float32Array) => a.reduce((acc, x, i) => acc + (x - b[i]) ** 2, 0);
    // The range the quantiser starts from: min/max with 0 included, 15 steps.
    const minMax = (block: Float32Array) => {
      const lo = Math.min(0, ...block);
      const hi = Math.max(0, ...block);
      const step = (hi - lo) / 15;
      const zp = Math.round(-lo / step);
      return block.map((x) => (Math.min(15, Math.max(0, Math.round(x / step) + zp)) - zp) * step);
    };
    // Blocks with one outlier (ten times the rest): never worse than min/max.
    for (let trial = 0; trial < 50; trial++) {
      const w = Float32Array.from({ length: 32 }, () => 0.02 * rnd());
      w[trial % 32] = 0.2 * (trial % 2 ? 1 : -1);
      const back = dequantizeInt4(quantizeInt4(w, 1, 32, 32), 1, 32, 32);
      expect(sse(back, w)).toBeLessThanOrEqual(sse(minMax(w), w) * (1 + 1e-5));
    }
    // On plain Gaussian blocks it is never worse either, and better on the whole.
    const g = Float32Array.from({ length: 64 * 32 }, rnd);
    let ours = 0;
    let plain = 0;
    for (let r = 0; r < 64; r++) {
      const row = g.subarray(r * 32, (r + 1) * 32);
      const a = sse(dequantizeInt4(quantizeInt4(row, 1, 32, 32), 1, 32, 32), row);
      const b = sse(minMax(row), row);
      expect(a).toBeLessThanOrEqual(b * (1 + 1e-5));
      ours += a;
      plain += b;
    }
    expect(ours).toBeLessThan(plain * 0.95);
  });

  it.each([32, 64, 128])('MatMulNBits on the CPU provider computes x @ dequant(W)^T (blocks of %i)', async (block) => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-int4-'));
    dirs.push(dir);
    const N = 48;
    const K = 384;
    const rnd = gaussian(2);
    const w = Float32Array.from({ length: N * K }, rnd);
    const x = Float32Array.from({ length: 3 * K }, rnd);
    const q = quantizeInt4(w, N, K, block);
    const data = new ExternalDataWriter(join(dir, 'w.data'), 'w.data');
    const g = new GraphBuilder('int4', data);
    g.input('x', 'float32', [3, K]);
    const bw = g.initializer('w', 'uint8', [N, K / block, block / 2], q.packed);
    const s = g.initializer('s', 'float32', [N * (K / block)], bytesOf(q.scales));
    const zp = g.initializer('zp', 'uint8', [N * Math.ceil(K / block / 2)], q.zeroPoints);
    g.op('MatMulNBits', ['x', bw, s, zp], { K: A.i(K), N: A.i(N), bits: A.i(4), block_size: A.i(block) }, 'y', 'com.microsoft');
    g.output('y', 'float32', [3, N]);
    data.close();
    writeFileSync(join(dir, 'm.onnx'), g.toBytes());
    const session = await ort.InferenceSession.create(join(dir, 'm.onnx'));
    const out = await session.run({ x: new ort.Tensor('float32', x, [3, K]) });
    const deq = dequantizeInt4(q, N, K, block);
    const expected = new Float32Array(3 * N);
    for (let r = 0; r < 3; r++) for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += x[r * K + k] * deq[n * K + k];
      expected[r * N + n] = acc;
    }
    expect(maxAbsDiff(out.y.data as Float32Array, expected)).toBeLessThan(1e-4);
    await session.release();
  });

  it('8-bit blocks (an int4 build\'s lm_head with LOOKOUT_INT4_LM_HEAD=int8): MatMulNBits bits=8 computes x @ dequant(W)^T', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-int8-'));
    dirs.push(dir);
    const N = 40;
    const K = 64;
    const rnd = gaussian(3);
    const w = Float32Array.from({ length: N * K }, rnd);
    const x = Float32Array.from({ length: 2 * K }, rnd);
    const q = quantizeInt8(w, N, K, 32);
    const deq = dequantizeInt8(q, N, K, 32);
    for (let i = 0; i < w.length; i++) expect(Math.abs(deq[i] - w[i])).toBeLessThanOrEqual(q.scales[Math.floor(i / 32)] / 2 + 1e-6);
    const data = new ExternalDataWriter(join(dir, 'w.data'), 'w.data');
    const g = new GraphBuilder('int8', data);
    g.input('x', 'float32', [2, K]);
    const bw = g.initializer('w', 'uint8', [N, K / 32, 32], q.packed);
    const s = g.initializer('s', 'float32', [N * (K / 32)], bytesOf(q.scales));
    const zp = g.initializer('zp', 'uint8', [N * (K / 32)], q.zeroPoints);
    g.op('MatMulNBits', ['x', bw, s, zp], { K: A.i(K), N: A.i(N), bits: A.i(8), block_size: A.i(32) }, 'y', 'com.microsoft');
    g.output('y', 'float32', [2, N]);
    data.close();
    writeFileSync(join(dir, 'm.onnx'), g.toBytes());
    const session = await ort.InferenceSession.create(join(dir, 'm.onnx'));
    const out = await session.run({ x: new ort.Tensor('float32', x, [2, K]) });
    const expected = new Float32Array(2 * N);
    for (let r = 0; r < 2; r++) for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += x[r * K + k] * deq[n * K + k];
      expected[r * N + n] = acc;
    }
    expect(maxAbsDiff(out.y.data as Float32Array, expected)).toBeLessThan(1e-4);
    await session.release();
  });
});
