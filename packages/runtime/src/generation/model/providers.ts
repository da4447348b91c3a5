/**
 * Execution providers: 'cpu' always works; 'cuda' needs the CUDA provider libraries that the
 * npm package does not ship (`pnpm cuda:install` fetches them next to the native binding) plus
 * the CUDA 12 / cuDNN 9 runtime on the library path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ExecutionProviderUnavailableError } from '../errors.js';

export type ExecutionProvider = 'cpu' | 'cuda';
export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'cuda'];

const INSTALL_HINT = 'Run `pnpm cuda:install` (fetches libonnxruntime_providers_cuda.so for onnxruntime-node) and make sure the CUDA 12 and cuDNN 9 libraries are on LD_LIBRARY_PATH, or use executionProvider: "cpu".';

/** Directory of onnxruntime-node's native binding for this platform. */
export function onnxruntimeBindingDir(): string {
  const require = createRequire(import.meta.url);
  let dir = path.dirname(require.resolve('onnxruntime-node'));
  while (dir !== path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'onnxruntime-node') break;
    dir = path.dirname(dir);
  }
  return path.join(dir, 'bin', 'napi-v6', process.platform, process.arch);
}

export function cudaProviderLibrary(): string {
  return path.join(onnxruntimeBindingDir(), 'libonnxruntime_providers_cuda.so');
}

/** Throws a typed error when `provider` is unknown or cannot work in this install. */
export function assertExecutionProvider(provider: unknown, probe: { cudaLibrary?: string } = {}): asserts provider is ExecutionProvider {
  if (provider === 'cpu') return;
  if (provider !== 'cuda')
    throw new ExecutionProviderUnavailableError(`executionProvider must be one of ${EXECUTION_PROVIDERS.join(', ')}, got ${JSON.stringify(provider)}.`);
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new ExecutionProviderUnavailableError(`The CUDA provider of onnxruntime-node is available on linux/x64 only, not ${process.platform}/${process.arch}. Use executionProvider: "cpu".`);
  const lib = probe.cudaLibrary ?? cudaProviderLibrary();
  if (!existsSync(lib)) throw new ExecutionProviderUnavailableError(`The CUDA execution provider is not installed: ${lib} is missing. ${INSTALL_HINT}`);
}

/** Turns a session-creation failure that comes from CUDA into the typed provider error. */
export function asProviderError(error: unknown, provider: ExecutionProvider): unknown {
  if (provider !== 'cuda' || error instanceof ExecutionProviderUnavailableError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/cuda|cudnn|cublas|providers_shared|libcudart|gpu/i.test(message))
    return new ExecutionProviderUnavailableError(`The CUDA execution provider failed to start: ${message}. ${INSTALL_HINT}`, { cause: error });
  return error;
}
