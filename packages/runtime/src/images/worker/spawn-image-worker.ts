/** Starts the image worker thread (the tsx bootstrap for .ts sources lives in worker-support/). */
import type { Worker } from 'node:worker_threads';
import { SOURCE_EXT, spawnModuleWorker } from '../../worker-support/index.js';

export function spawnImageWorker(): Worker {
  return spawnModuleWorker(new URL(`./image-worker-entry.${SOURCE_EXT}`, import.meta.url));
}
