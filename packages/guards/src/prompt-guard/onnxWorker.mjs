// Worker thread that owns one onnxruntime-node session. session.run blocks the thread that calls
// it, so classifier inference happens here and the agent loop's thread stays responsive.
// Plain ESM JavaScript so it loads in a worker without a TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

const { modelPath, sessionOptions } = workerData;
let session;
try {
  session = await ort.InferenceSession.create(modelPath, sessionOptions ?? {});
  parentPort.postMessage({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames });
} catch (error) {
  parentPort.postMessage({ type: 'load-error', message: error instanceof Error ? error.message : String(error) });
}

parentPort.on('message', async (msg) => {
  if (msg.type !== 'run' || !session) return;
  try {
    const dims = [msg.batch, msg.seq];
    const feeds = {
      input_ids: new ort.Tensor('int64', new BigInt64Array(msg.inputIds), dims),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(msg.attentionMask), dims),
    };
    if (session.inputNames.includes('token_type_ids')) {
      feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(msg.batch * msg.seq), dims);
    }
    const out = await session.run(feeds);
    const logits = out.logits ?? out[session.outputNames[0]];
    const data = Float32Array.from(logits.data);
    parentPort.postMessage({ type: 'result', id: msg.id, data: data.buffer, dims: logits.dims }, [data.buffer]);
  } catch (error) {
    parentPort.postMessage({ type: 'error', id: msg.id, message: error instanceof Error ? error.message : String(error) });
  }
});
