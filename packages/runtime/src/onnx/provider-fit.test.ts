import { describe, expect, it } from 'vitest';
import { providerMismatch, warnOnProviderMismatch } from './provider-fit.js';

describe('build and provider fit', () => {
  it('flags f32-compute fused builds on CUDA (GroupQueryAttention has only f16 kernels there)', () => {
    expect(providerMismatch({ fused: true, computeType: 'float32', dtype: 'int4' }, 'cuda')?.message).toMatch(/this int4 build computes in f32.*--dtype int4 --compute f16/);
    expect(providerMismatch({ fused: true, dtype: 'fp32' }, 'cuda')?.code).toBe('LOOKOUT_CUDA_F32_ATTENTION'); // older manifests: f32
    expect(providerMismatch({ fused: true, computeType: 'float16', dtype: 'fp16' }, 'cuda')).toBeUndefined();
    expect(providerMismatch({ fused: false, computeType: 'float32', dtype: 'fp32' }, 'cuda')).toBeUndefined();
  });

  it('flags f16-compute builds on CPU and leaves f32 builds alone there', () => {
    expect(providerMismatch({ fused: true, computeType: 'float16', dtype: 'fp16' }, 'cpu')).toMatchObject({ code: 'LOOKOUT_CPU_F16_COMPUTE', message: expect.stringMatching(/more memory than the fp32 build/) });
    expect(providerMismatch({ fused: true, computeType: 'float32', dtype: 'fp32' }, 'cpu')).toBeUndefined();
    expect(providerMismatch({ fused: true, computeType: 'float32', dtype: 'int4' }, 'cpu')).toBeUndefined();
  });

  it('emits the warning through process.emitWarning with its code', () => {
    const seen: string[] = [];
    const original = process.emitWarning;
    process.emitWarning = ((warning: string | Error, options?: { code?: string }) => void seen.push(`${options?.code}: ${String(warning)}`)) as typeof process.emitWarning;
    try {
      warnOnProviderMismatch({ fused: true, computeType: 'float16', dtype: 'fp16' }, 'cpu');
      warnOnProviderMismatch({ fused: true, computeType: 'float32', dtype: 'fp32' }, 'cpu');
    } finally {
      process.emitWarning = original;
    }
    expect(seen).toEqual([expect.stringMatching(/^LOOKOUT_CPU_F16_COMPUTE: this fp16 build computes in f16/)]);
  });
});
