/** Starting the engine worker (the tsx bootstrap for .ts sources lives in worker-support/). */
import type { Worker } from 'node:worker_threads';
import { SOURCE_EXT, spawnModuleWorker } from '../../worker-support/index.js';

/** A runtime module by its path under src/ without extension, e.g. "onnx/index". */
export function runtimeModuleUrl(relativeToSrc: string): URL {
  return new URL(`../../${relativeToSrc}.${SOURCE_EXT}`, import.meta.url);
}

export function spawnEngineWorker(workerData: Record<string, unknown>): Worker {
  return spawnModuleWorker(new URL(`./engine-worker.${SOURCE_EXT}`, import.meta.url), workerData);
}
