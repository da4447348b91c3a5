// Worker thread that owns one onnxruntime-node session. session.run blocks the thread that calls
// it, so classifier inference happens here and the agent loop's thread stays responsive.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { answerRequests, serializeError } from '@lookout/runtime/worker-support';
import type { ClassifierReady, ClassifierRequest, ClassifierResult, ClassifierStart } from './classifier-session.js';

if (!parentPort) throw new Error('classifier-worker.ts must run inside a worker thread');
const port = parentPort;
const { modelPath, sessionOptions } = workerData as ClassifierStart;

const session = await ort.InferenceSession.create(modelPath, (sessionOptions ?? {}) as ort.InferenceSession.SessionOptions).catch((error: unknown) => {
  port.postMessage({ type: 'load-error', error: serializeError(error) } satisfies ClassifierReady);
  return undefined;
});

if (session) {
  answerRequests(port, async (msg: ClassifierRequest) => {
    const dims = [msg.batch, msg.seq];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', new BigInt64Array(msg.inputIds), dims),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(msg.attentionMask), dims),
    };
    if (session.inputNames.includes('token_type_ids')) {
      feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(msg.batch * msg.seq), dims);
    }
    const out = await session.run(feeds);
    const logits = out.logits ?? out[session.outputNames[0]];
    const data = Float32Array.from(logits.data as Float32Array);
    return { value: { data: data.buffer, dims: [...logits.dims] } satisfies ClassifierResult, transfer: [data.buffer] };
  });
  port.postMessage({ type: 'ready', inputNames: [...session.inputNames], outputNames: [...session.outputNames] } satisfies ClassifierReady);
}
