import type { Worker } from 'node:worker_threads';
import { PendingRequests, SOURCE_EXT, firstMessage, spawnModuleWorker, type Reply, type SerializedError } from '@lookout/runtime/worker-support';
import { GuardModelError } from '../errors.js';

export interface ClassifierSessionOptions {
  /** onnxruntime-node session options (e.g. { executionProviders: ['cuda'], intraOpNumThreads: 2 }). */
  sessionOptions?: Record<string, unknown>;
}

/** The classifier worker's workerData. */
export interface ClassifierStart {
  modelPath: string;
  sessionOptions?: Record<string, unknown>;
}

/** The classifier worker's first message. */
export type ClassifierReady = { type: 'ready'; inputNames: string[]; outputNames: string[] } | { type: 'load-error'; error: SerializedError };

/** One padded batch, int64 row-major [batch, seq] buffers (moved to the worker). */
export interface ClassifierRequest {
  type: 'run';
  id: number;
  inputIds: ArrayBuffer;
  attentionMask: ArrayBuffer;
  batch: number;
  seq: number;
}

/** Logits [batch, labels] as a moved buffer. */
export interface ClassifierResult {
  data: ArrayBuffer;
  dims: number[];
}

/**
 * A sequence-classification ONNX session living in a worker thread (see classifier-worker.ts).
 * Inputs are int64 input_ids/attention_mask [batch, seq]; the output is logits [batch, labels].
 */
export class ClassifierSession {
  // An idle classifier must not keep the process alive; it is ref'd while runs are pending.
  private readonly pending = new PendingRequests<ClassifierResult>({ onBusy: () => this.worker.ref(), onIdle: () => this.worker.unref() });
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly inputNames: string[],
    readonly outputNames: string[],
  ) {
    worker.on('message', (msg: Reply<ClassifierResult>) => {
      this.pending.settle(msg, (error) => new GuardModelError(`classifier run failed: ${error.message}`));
    });
    worker.on('error', (e) => this.failAll(new GuardModelError(`classifier worker crashed: ${e.message}`, { cause: e })));
    worker.on('exit', () => this.failAll(new GuardModelError('classifier worker exited')));
  }

  static async open(modelPath: string, options: ClassifierSessionOptions = {}): Promise<ClassifierSession> {
    const worker = spawnModuleWorker(new URL(`./classifier-worker.${SOURCE_EXT}`, import.meta.url), {
      modelPath,
      sessionOptions: options.sessionOptions,
    } satisfies ClassifierStart);
    const ready = await firstMessage<ClassifierReady>(worker, {
      crashed: (e) => new GuardModelError(`cannot start classifier worker: ${e.message}`, { cause: e }),
      exited: (code) => new GuardModelError(`cannot start classifier worker: it exited (exit code ${code})`),
    })
      .then((msg) => {
        if (msg.type === 'ready') return msg;
        throw new GuardModelError(`cannot load classifier ${modelPath}: ${msg.error.message}`);
      })
      .catch(async (e) => {
        await worker.terminate();
        throw e;
      });
    for (const name of ['input_ids', 'attention_mask']) {
      if (!ready.inputNames.includes(name)) {
        await worker.terminate();
        throw new GuardModelError(`classifier ${modelPath} has inputs ${ready.inputNames.join(', ')}; expected input_ids and attention_mask`);
      }
    }
    worker.unref();
    return new ClassifierSession(worker, ready.inputNames, ready.outputNames);
  }

  /** Runs one padded batch; `inputIds` and `attentionMask` are row-major [batch, seq]. */
  async run(inputIds: BigInt64Array, attentionMask: BigInt64Array, batch: number, seq: number): Promise<{ data: Float32Array; dims: number[] }> {
    if (this.closed) throw new GuardModelError('classifier session is closed');
    const ids = inputIds.buffer.slice(0) as ArrayBuffer;
    const mask = attentionMask.buffer.slice(0) as ArrayBuffer;
    const result = await this.pending.send((id) =>
      this.worker.postMessage({ type: 'run', id, inputIds: ids, attentionMask: mask, batch, seq } satisfies ClassifierRequest, [ids, mask]),
    );
    return { data: new Float32Array(result.data), dims: result.dims };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }

  private failAll(error: Error): void {
    this.pending.failAll(error);
    this.worker.unref();
  }
}
