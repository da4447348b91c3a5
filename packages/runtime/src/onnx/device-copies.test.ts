import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeTinyCheckpoint } from '../tiny/index.js';
import { buildModel } from './build.js';
import { OnnxEngine } from './engine.js';
import {
  analyzeDeviceCopies,
  findProfileFiles,
  isKvCacheTensor,
  kvCacheResidency,
  parseProfile,
  ProfileError,
  readProfile,
  tensorTypeShapes,
  typeShapeBytes,
  type ProfileEvent,
} from './device-copies.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const fixture = (name: string) => parseProfile(JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')), name);
// The fixtures' decoder: 2 KV heads of 8 dims.
const TINY_KV = { numKvHeads: 2, headDim: 8 };
const CUDA = 'CUDAExecutionProvider';

describe('device copies in a CUDA-shaped profile (onnxruntime 1.30 format)', () => {
  it('loop on device: copy nodes split into the main graph and the Loop body, per iteration', () => {
    const report = analyzeDeviceCopies(fixture('profile-cuda-loop-on-device.json'));
    expect(report.runs).toBe(2);
    // Two runs (prefill, then one chunk): each has 4 copy nodes outside the Loop.
    expect(report.graph).toEqual({ count: 8, bytes: 376, hostToDevice: 4, deviceToHost: 4, largest: 160 });
    // The chunk's Loop ran 3 iterations; each copied the top-40 candidates out and the token back.
    expect(report.loopBody.iterations).toBe(3);
    expect(report.loopBody.count).toBe(6);
    expect(report.loopBody.perIteration).toEqual({ count: 2, bytes: 168 });
    expect(report.loops.map((l) => [l.node, l.iterations, l.copies.count])).toEqual([
      ['greedy/Loop_427', 0, 0],
      ['greedy/Loop_427', 3, 6],
    ]);
    expect(report.loops[1].kernelsByProvider).toEqual({ [CUDA]: 33, CPUExecutionProvider: 3 });
    const inLoop = report.copies.filter((c) => c.loop);
    expect(inLoop.map((c) => `${c.op} ${c.tensor!.dtype}[${c.tensor!.shape}] ${c.bytes}`)).toEqual(
      Array(3).fill(['MemcpyToHost float[1,1,40] 160', 'MemcpyFromHost int64[1,1] 8']).flat(),
    );
    expect(inLoop.every((c) => c.provider === CUDA && c.loop === 'greedy/Loop_427')).toBe(true);

    const kv = kvCacheResidency(fixture('profile-cuda-loop-on-device.json'), TINY_KV, CUDA);
    expect(kv).toEqual({ iterations: 3, copiesInLoop: [], hostKernels: [], stayedOnDevice: true });
  });

  it('KV cache on the host: KV-sized copies inside iterations and the cache kernel on the CPU', () => {
    const events = fixture('profile-cuda-kv-on-host.json');
    const report = analyzeDeviceCopies(events);
    expect(report.graph.count).toBe(14);
    expect(report.loopBody.iterations).toBe(3);
    expect(report.loopBody.count).toBe(15);
    // Per iteration: q/k/v out (256 B), attention back (128 B), one layer's cache in (64 B per position), token choice (168 B).
    expect(report.loopBody.bytes).toBe(704 + 768 + 832 + 3 * 168);
    expect(report.loopBody.largest).toBe(448);

    const kv = kvCacheResidency(events, TINY_KV, CUDA);
    expect(kv.stayedOnDevice).toBe(false);
    expect(kv.hostKernels).toEqual(['GroupQueryAttention on CPUExecutionProvider']);
    expect(kv.copiesInLoop.map((c) => `${c.direction} [${c.tensor!.shape}]`)).toEqual(['host-to-device [1,2,5,8]', 'host-to-device [1,2,6,8]', 'host-to-device [1,2,7,8]']);
  });

  it('cannot tell whether the cache stayed on the device when no Loop iteration ran', () => {
    const events = fixture('profile-cuda-loop-on-device.json');
    const prefill = events.find((e) => e.name === 'model_run')!;
    const prefillOnly = events.filter((e) => e.ts >= prefill.ts && e.ts <= prefill.ts + prefill.dur);
    const first = analyzeDeviceCopies(prefillOnly);
    expect(first.loopBody.iterations).toBe(0);
    expect(kvCacheResidency(prefillOnly, TINY_KV, CUDA).stayedOnDevice).toBeUndefined();
  });

  it('counts iterations from repeated body nodes when the profile has no executor events', () => {
    const events = fixture('profile-cuda-loop-on-device.json').filter((e) => e.name !== 'SequentialExecutor::Execute');
    expect(analyzeDeviceCopies(events).loopBody).toMatchObject({ iterations: 3, count: 6 });
  });

  it('events on another thread during the Loop are not part of its body', () => {
    const events = fixture('profile-cuda-loop-on-device.json');
    const loop = events.find((e) => e.name === 'greedy/Loop_427_kernel_time' && e.dur > 100)!;
    const other: ProfileEvent = {
      cat: 'Node',
      name: 'Memcpy_token_99_kernel_time',
      ts: loop.ts + 10,
      dur: 5,
      pid: loop.pid,
      tid: (loop.tid ?? 0) + 1,
      args: { op_name: 'MemcpyToHost', provider: CUDA, output_size: '64', output_type_shape: [{ float: [1, 2, 1, 8] }] },
    };
    const report = analyzeDeviceCopies([...events, other]);
    expect(report.loopBody.count).toBe(6);
    expect(report.graph.count).toBe(9);
  });
});

describe('profile parsing', () => {
  it('reads type/shape args written as arrays or as a JSON string, and sizes tensors', () => {
    expect(tensorTypeShapes([{ float: [1, 2, 3, 8] }, { int64: [] }])).toEqual([
      { dtype: 'float', shape: [1, 2, 3, 8] },
      { dtype: 'int64', shape: [] },
    ]);
    expect(tensorTypeShapes('[{"MLFloat16":[1,8,4,64]}]')).toEqual([{ dtype: 'MLFloat16', shape: [1, 8, 4, 64] }]);
    expect(tensorTypeShapes('not json')).toEqual([]);
    expect(typeShapeBytes({ dtype: 'float16', shape: [2, 3] })).toBe(12);
    expect(typeShapeBytes({ dtype: 'int64', shape: [] })).toBe(8);
    expect(typeShapeBytes({ dtype: 'string', shape: [4] })).toBeUndefined();
    expect(isKvCacheTensor({ dtype: 'float', shape: [1, 2, 17, 8] }, TINY_KV)).toBe(true);
    expect(isKvCacheTensor({ dtype: 'float', shape: [1, 4, 17, 8] }, TINY_KV)).toBe(false);
  });

  it('takes the copy size from the shape when output_size is missing', () => {
    const copy: ProfileEvent = { cat: 'Node', name: 'Memcpy_kernel_time', ts: 0, dur: 1, args: { op_name: 'MemcpyFromHost', provider: CUDA, input_type_shape: [{ MLFloat16: [1, 2, 3, 8] }] } };
    expect(analyzeDeviceCopies([copy]).copies[0]).toMatchObject({ bytes: 96, direction: 'host-to-device', node: 'Memcpy' });
  });

  it('accepts Chrome trace objects and rejects what is not a profile, with a typed error', () => {
    expect(parseProfile({ traceEvents: [{ cat: 'Session', name: 'model_run', ts: 1, dur: 2 }] })).toHaveLength(1);
    // Events without a duration are not spans; they are skipped.
    expect(parseProfile([{ cat: 'Session', name: 'x', ts: 1 }])).toEqual([]);
    expect(() => parseProfile({ events: [] }, 'p.json')).toThrow(expect.objectContaining({ code: 'PROFILE_INVALID', message: expect.stringMatching(/p\.json .*JSON array of trace events/) }));
    expect(() => parseProfile([{ name: 'x' }])).toThrow(ProfileError);
  });

  it('finds the files written for a prefix and reports a missing or broken one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-profile-'));
    try {
      expect(() => findProfileFiles(join(dir, 'decoder'))).toThrow(expect.objectContaining({ code: 'PROFILE_NOT_FOUND' }));
      writeFileSync(join(dir, 'decoder_2026-01-02_10-00-01.json'), '[]');
      writeFileSync(join(dir, 'decoder_2026-01-02_09-59-59.json'), '[');
      writeFileSync(join(dir, 'vision_2026-01-02_10-00-00.json'), '[]');
      const files = findProfileFiles(join(dir, 'decoder'));
      expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['decoder_2026-01-02_09-59-59.json', 'decoder_2026-01-02_10-00-01.json']);
      await expect(readProfile(files[1])).resolves.toEqual([]);
      await expect(readProfile(files[0])).rejects.toMatchObject({ code: 'PROFILE_INVALID' });
      await expect(readProfile(join(dir, 'none.json'))).rejects.toMatchObject({ code: 'PROFILE_NOT_FOUND' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a real profile of a tiny build on CPU', () => {
  let dir: string;
  let events: ProfileEvent[];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookout-profile-build-'));
    // Head dim 16: the fused build's self-attention is GroupQueryAttention, as in the real models.
    await writeTinyCheckpoint(dir, { arch: 'mllama', seed: 3, hidden: 64, heads: 4, kvHeads: 2 });
    await buildModel(dir, { dtype: 'fp32' });
    // The engine has no profiling option: turn it on where its sessions are created.
    const sessions: ort.InferenceSession[] = [];
    const create = ort.InferenceSession.create.bind(ort.InferenceSession) as (path: string, o?: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>;
    const spy = vi.spyOn(ort.InferenceSession, 'create').mockImplementation((async (path: string, options?: ort.InferenceSession.SessionOptions) => {
      const prefix = join(dir, path.endsWith('decoder.onnx') ? 'decoder' : 'vision');
      const session = await create(path, { ...options, enableProfiling: true, profileFilePrefix: prefix });
      sessions.push(session);
      return session;
    }) as typeof ort.InferenceSession.create);
    let engine: OnnxEngine;
    try {
      engine = await OnnxEngine.load(dir, { executionProvider: 'cpu', intraOpThreads: 1 });
    } finally {
      spy.mockRestore();
    }
    const session = await engine.prefill([128000, 791, 3938, 374]);
    await session.greedy(5);
    for (const s of sessions) s.endProfiling();
    await engine.dispose();
    const files = findProfileFiles(join(dir, 'decoder'));
    expect(files).toHaveLength(1);
    events = await readProfile(files[0]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has no copy nodes on CPU, and finds the Loop with one iteration per token chosen in the graph', () => {
    const report = analyzeDeviceCopies(events);
    expect(report.runs).toBe(2);
    expect(report.copies).toEqual([]);
    expect(report.graph.count).toBe(0);
    expect(Object.keys(report.kernelsByProvider)).toEqual(['CPUExecutionProvider']);
    // greedy(5): the first token is chosen from the prefill's logits, 4 in the Loop.
    expect(report.loops.map((l) => l.iterations)).toEqual([0, 4]);
    expect(report.loopBody).toMatchObject({ iterations: 4, count: 0, bytes: 0, perIteration: { count: 0, bytes: 0 } });
    expect(report.loops[1].kernelsByProvider.CPUExecutionProvider).toBeGreaterThan(4 * 20);
  });

  it('the cache stayed with the provider that ran the loop; judged against CUDA, its kernels are host kernels', () => {
    const kv = { numKvHeads: 2, headDim: 16 };
    expect(kvCacheResidency(events, kv, 'CPUExecutionProvider')).toEqual({ iterations: 4, copiesInLoop: [], hostKernels: [], stayedOnDevice: true });
    const asCuda = kvCacheResidency(events, kv, CUDA);
    expect(asCuda.stayedOnDevice).toBe(false);
    // The loop body appends to its own cache (Concat) and attends with plain ops; judged against
    // CUDA, those ran on the host.
    expect(asCuda.hostKernels).toContain('Concat on CPUExecutionProvider');
    expect(asCuda.hostKernels).toContain('MatMul on CPUExecutionProvider');
  });
});
