// Worker-thread side of ImageWorker: runs the CPU-bound part of the processor (resize,
// normalise, tile) so the caller's event loop stays free. Pixel buffers move, not copy.
import { parentPort } from 'node:worker_threads';
import { answerRequests } from '../../worker-support/index.js';
import { processRgbPixels } from '../processor.js';
import type { ImageWorkerRequest } from './protocol.js';

if (!parentPort) throw new Error('image-worker-entry.ts must run inside a worker thread');

answerRequests(parentPort, (req: ImageWorkerRequest) => {
  const result = processRgbPixels(req.rgb, req.width, req.height, req.config);
  return { value: result, transfer: [result.pixelValues.buffer as ArrayBuffer] };
});
