import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecutionProviderUnavailableError } from '../errors.js';
import { asProviderError, assertExecutionProvider, cudaProviderLibrary, onnxruntimeBindingDir } from './providers.js';

describe('execution providers', () => {
  it('finds the onnxruntime-node binding next to which the CUDA provider would go', () => {
    expect(existsSync(path.join(onnxruntimeBindingDir(), 'onnxruntime_binding.node'))).toBe(true);
    expect(path.dirname(cudaProviderLibrary())).toBe(onnxruntimeBindingDir());
  });

  it('accepts cpu and rejects unknown providers', () => {
    expect(() => assertExecutionProvider('cpu')).not.toThrow();
    expect(() => assertExecutionProvider('tpu')).toThrow(/must be one of cpu, cuda/);
  });

  it('names pnpm cuda:install when the CUDA provider library is missing', () => {
    const check = () => assertExecutionProvider('cuda', { cudaLibrary: '/nonexistent/libonnxruntime_providers_cuda.so' });
    expect(check).toThrow(ExecutionProviderUnavailableError);
    expect(check).toThrow(/pnpm cuda:install/);
    try {
      check();
    } catch (e) {
      expect((e as ExecutionProviderUnavailableError).code).toBe('EXECUTION_PROVIDER_UNAVAILABLE');
    }
  });

  it('wraps CUDA session errors and leaves others alone', () => {
    const cuda = asProviderError(new Error('libcudart.so.12: cannot open shared object file'), 'cuda');
    expect(cuda).toBeInstanceOf(ExecutionProviderUnavailableError);
    expect((cuda as Error).message).toMatch(/pnpm cuda:install/);
    const other = new Error('bad graph');
    expect(asProviderError(other, 'cuda')).toBe(other);
    expect(asProviderError(new Error('cuda'), 'cpu')).not.toBeInstanceOf(ExecutionProviderUnavailableError);
  });
});
