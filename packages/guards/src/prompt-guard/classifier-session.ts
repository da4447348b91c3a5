import { Worker } from 'node:worker_threads';
import { GuardModelError } from '../errors.js';

export interface ClassifierSessionOptions {
  /** onnxruntime-node session options (e.g. { executionProviders: ['cuda'], intraOpNumThreads: 2 }). */
  sessionOptions?: Record<string, unknown>;
}

interface Pending {
  resolve: (v: { data: Float32Array; dims: number[] }) => void;
  reject: (e: Error) => void;
}

/**
 * A sequence-classification ONNX session living in a worker thread (see onnxWorker.mjs).
 * Inputs are int64 input_ids/attention_mask [batch, seq]; the output is logits [batch, labels].
 */
export class ClassifierSession {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly inputNames: string[],
    readonly outputNames: string[],
  ) {
    worker.on('message', (msg: { type: string; id: number; data?: ArrayBuffer; dims?: number[]; message?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) worker.unref();
      if (msg.type === 'result') p.resolve({ data: new Float32Array(msg.data!), dims: msg.dims! });
      else p.reject(new GuardModelError(`classifier run failed: ${msg.message}`));
    });
    worker.on('error', (e) => this.failAll(new GuardModelError(`classifier worker crashed: ${e.message}`, { cause: e })));
    worker.on('exit', () => this.failAll(new GuardModelError('classifier worker exited')));
  }

  static async open(modelPath: string, options: ClassifierSessionOptions = {}): Promise<ClassifierSession> {
    const worker = new Worker(new URL('./onnxWorker.mjs', import.meta.url), { workerData: { modelPath, sessionOptions: options.sessionOptions } });
    const ready = await new Promise<{ inputNames: string[]; outputNames: string[] }>((resolve, reject) => {
      worker.once('message', (msg: { type: string; inputNames: string[]; outputNames: string[]; message?: string }) => {
        if (msg.type === 'ready') resolve(msg);
        else reject(new GuardModelError(`cannot load classifier ${modelPath}: ${msg.message}`));
      });
      worker.once('error', (e) => reject(new GuardModelError(`cannot start classifier worker: ${e.message}`, { cause: e })));
    }).catch(async (e) => {
      await worker.terminate();
      throw e;
    });
    for (const name of ['input_ids', 'attention_mask']) {
      if (!ready.inputNames.includes(name)) {
        await worker.terminate();
        throw new GuardModelError(`classifier ${modelPath} has inputs ${ready.inputNames.join(', ')}; expected input_ids and attention_mask`);
      }
    }
    // An idle classifier must not keep the process alive; it is ref'd while runs are pending.
    worker.unref();
    return new ClassifierSession(worker, ready.inputNames, ready.outputNames);
  }

  /** Runs one padded batch; `inputIds` and `attentionMask` are row-major [batch, seq]. */
  run(inputIds: BigInt64Array, attentionMask: BigInt64Array, batch: number, seq: number): Promise<{ data: Float32Array; dims: number[] }> {
    if (this.closed) return Promise.reject(new GuardModelError('classifier session is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      const ids = inputIds.buffer.slice(0) as ArrayBuffer;
      const mask = attentionMask.buffer.slice(0) as ArrayBuffer;
      this.worker.postMessage({ type: 'run', id, inputIds: ids, attentionMask: mask, batch, seq }, [ids, mask]);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }

  private failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.worker.unref();
  }
}
