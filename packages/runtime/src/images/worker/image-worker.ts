import type { Worker } from 'node:worker_threads';
import { MLLAMA_PROCESSOR_CONFIG } from '../config.js';
import { ImageWorkerError } from '../errors.js';
import { readImageRgb, type ProcessedImage, type ProcessImageOptions } from '../processor.js';
import type { ImageSource } from '../source.js';
import { PendingRequests } from '../../worker-support/index.js';
import type { ImageWorkerRequest, ImageWorkerResponse } from './protocol.js';
import { spawnImageWorker } from './spawn-image-worker.js';

/**
 * processImage with the CPU-bound part on a worker thread. Reading and the limits checks run
 * here; decoding runs in libvips' own threads; the Pillow-exact resize, normalisation and
 * tiling (about 0.05 s for a 1500x1000 image, 0.3-0.8 s for a 12 MP photo) run on the worker,
 * so an agent's event loop keeps serving other turns. One worker, requests in order.
 */
export class ImageWorker {
  private worker: Worker | undefined;
  // An idle worker must not keep the process alive: it is ref'd only while requests wait.
  private readonly pending = new PendingRequests<ProcessedImage>({
    onBusy: () => this.worker?.ref(),
    onIdle: () => this.worker?.unref(),
  });
  private closed = false;

  async process(input: ImageSource, options: ProcessImageOptions = {}): Promise<ProcessedImage> {
    if (this.closed) throw new ImageWorkerError('the image worker was closed');
    const { rgb, width, height } = await readImageRgb(input, options);
    // Only a buffer that owns its whole ArrayBuffer may be transferred (small Node buffers share a pool).
    const owned = rgb.byteOffset === 0 && rgb.byteLength === rgb.buffer.byteLength ? rgb : rgb.slice();
    return this.run({ rgb: owned, width, height, config: options.config ?? MLLAMA_PROCESSOR_CONFIG });
  }

  /** Stops the worker; pending requests fail with IMAGE_WORKER_FAILED. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.pending.failAll(new ImageWorkerError('the image worker was closed'));
    if (worker) await worker.terminate();
  }

  private run(req: Omit<ImageWorkerRequest, 'id'>): Promise<ProcessedImage> {
    const worker = this.ensureWorker();
    return this.pending.send((id) => worker.postMessage({ ...req, id } satisfies ImageWorkerRequest, [req.rgb.buffer as ArrayBuffer]));
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = spawnImageWorker();
    worker.on('message', (res: ImageWorkerResponse) => {
      this.pending.settle(res, (error) => new ImageWorkerError(`image processing failed in the worker: ${error.name}: ${error.message}`));
    });
    const fail = (err: unknown) => {
      if (this.worker === worker) this.worker = undefined;
      this.pending.failAll(new ImageWorkerError(`the image worker stopped: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.pending.size) fail(new Error(`exit code ${code}`));
      else if (this.worker === worker) this.worker = undefined;
    });
    worker.unref();
    this.worker = worker;
    return worker;
  }
}
