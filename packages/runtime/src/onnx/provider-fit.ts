import type { BuildManifest } from './build.js';

type BuildTraits = Pick<BuildManifest, 'fused' | 'computeType' | 'dtype'>;

/**
 * Why a build runs poorly on a provider, or undefined when it fits. Both cases still run, so
 * they are warnings naming the build that fits:
 * - CUDA with f32 compute: onnxruntime's CUDA GroupQueryAttention exists only for f16/bf16, so a
 *   fused f32 graph runs self-attention, KV cache included, on the CPU with copies in every layer;
 * - CPU with f16 compute: onnxruntime casts around every op without an f16 CPU kernel and keeps
 *   f32 copies of the weights, so it takes more memory than the fp32 build and runs slower.
 */
export function providerMismatch(manifest: BuildTraits, provider: string): { code: string; message: string } | undefined {
  const compute = manifest.computeType ?? 'float32';
  if (provider === 'cuda' && manifest.fused && compute === 'float32') {
    return {
      code: 'LOOKOUT_CUDA_F32_ATTENTION',
      message:
        `this ${manifest.dtype} build computes in f32, and onnxruntime's CUDA GroupQueryAttention runs only in f16: self-attention and the KV cache ` +
        'will run on the CPU. For CUDA build `--dtype fp16`, or `--dtype int4 --compute f16`.',
    };
  }
  if (provider === 'cpu' && compute === 'float16') {
    return {
      code: 'LOOKOUT_CPU_F16_COMPUTE',
      message:
        `this ${manifest.dtype} build computes in f16, which onnxruntime's CPU provider mostly emulates: it takes more memory than the fp32 build ` +
        'and runs slower. On CPU build `--dtype fp32`, or `--dtype int4` to save memory.',
    };
  }
  return undefined;
}

/** Emits providerMismatch's warning (process.emitWarning, with its code) when there is one. */
export function warnOnProviderMismatch(manifest: BuildTraits, provider: string): void {
  const mismatch = providerMismatch(manifest, provider);
  if (mismatch) process.emitWarning(mismatch.message, { code: mismatch.code });
}
