// Worker-thread side of ImageWorker: runs the CPU-bound part of the processor (resize,
// normalise, tile) so the caller's event loop stays free. Pixel buffers move, not copy.
import { parentPort } from 'node:worker_threads';
import { processRgbPixels } from '../processor.js';
import type { ImageWorkerRequest, ImageWorkerResponse } from './protocol.js';

if (!parentPort) throw new Error('image-worker-entry.ts must run inside a worker thread');
const port = parentPort;

port.on('message', (req: ImageWorkerRequest) => {
  let res: ImageWorkerResponse;
  try {
    const result = processRgbPixels(req.rgb, req.width, req.height, req.config);
    res = { id: req.id, ok: true, result };
    port.postMessage(res, [result.pixelValues.buffer as ArrayBuffer]);
  } catch (err) {
    res = { id: req.id, ok: false, error: { name: (err as Error).name, message: (err as Error).message } };
    port.postMessage(res);
  }
});
