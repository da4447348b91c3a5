/**
 * A ForwardEngine whose forward passes run in a worker thread. The main thread only posts token
 * ids and receives logits as moved buffers, so the event loop stays free while the model runs.
 */
import type { Worker } from 'node:worker_threads';
import type { DecodeSession, VisionInputs } from '../../model/engine.js';
import type { DecodePlan, DecodeTally, SampledToken, SamplingEngine } from '../decode-plan.js';
import type { InGraphSampling, MultiStepDecodeSession } from '../chunked-decode.js';
import type { IdLogprob } from '../../sampling/logprobs.js';
import { AsyncQueue } from '../../async/async-queue.js';
import { EngineWorkerError, GenerationAbortedError } from '../errors.js';
import { PendingRequests, firstMessage, isReply, type SerializedError } from '../../worker-support/index.js';
import type { OnnxEngineOptions } from '../../onnx/engine.js';
import type { EngineFactorySpec, FromWorker, LogitsReply, ToWorker } from './protocol.js';
import { runtimeModuleUrl, spawnEngineWorker } from './spawn.js';

type DecodeDone = Extract<FromWorker, { type: 'decode-done' }>;

interface RunningDecode {
  channel: AsyncQueue<SampledToken>;
  done: (reply: DecodeDone) => void;
}

/** OnnxEngine.load's options, passed to the worker as they are (all plain data). */
export type OnnxWorkerOptions = OnnxEngineOptions;

export class WorkerEngine implements SamplingEngine {
  /** Prefills and steps waiting for their logits; a running decode waits here for an error. */
  private readonly pending = new PendingRequests<LogitsReply>();
  private readonly decodes = new Map<number, RunningDecode>();
  private closed = false;
  private exited = false;
  private exitError?: Error;

  private constructor(
    private readonly worker: Worker,
    readonly vocabSize: number,
    readonly contextLength?: number,
  ) {
    worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    worker.on('error', (error) => this.failAll(new EngineWorkerError('ENGINE_WORKER_CRASHED', `The engine worker thread failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => {
      this.exited = true;
      if (!this.closed) this.failAll(new EngineWorkerError('ENGINE_WORKER_EXITED', `The engine worker thread exited unexpectedly (exit code ${code}).`));
    });
  }

  /** Starts a worker that builds its engine from `factory` and resolves once it is loaded. */
  static start(factory: EngineFactorySpec): Promise<WorkerEngine> {
    const worker = spawnEngineWorker({ factory });
    return firstMessage<FromWorker>(worker, {
      crashed: (error) => new EngineWorkerError('ENGINE_WORKER_CRASHED', `The engine worker thread failed while loading: ${error.message}`, { cause: error }),
      exited: (code) => new EngineWorkerError('ENGINE_WORKER_EXITED', `The engine worker thread exited while loading (exit code ${code}).`),
    }).then((msg) => {
      if (msg.type === 'ready') return new WorkerEngine(worker, msg.vocabSize, msg.contextLength);
      void worker.terminate();
      throw msg.type === 'load-error' ? remoteError(msg.error) : new EngineWorkerError('ENGINE_WORKER_PROTOCOL', `Expected 'ready' from the engine worker, got '${msg.type}'.`);
    });
  }

  /** Loads `OnnxEngine.load(modelDir, options)` (runtime onnx/) inside a worker thread. */
  static loadOnnx(modelDir: string, options: OnnxWorkerOptions = {}): Promise<WorkerEngine> {
    return WorkerEngine.start({
      module: runtimeModuleUrl('onnx/index').href,
      exportName: 'OnnxEngine',
      method: 'load',
      args: [modelDir, { ...options }],
    });
  }

  async prefill(inputIds: number[], vision?: VisionInputs, options?: { signal?: AbortSignal }): Promise<DecodeSession> {
    const signal = options?.signal;
    if (signal?.aborted) throw new GenerationAbortedError();
    const id = this.pending.newId();
    const onAbort = () => this.post({ type: 'abort', id });
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // Token ids and pixels are structured-cloned: the one copy of the inputs.
      const inputBytes = inputIds.length * 8 + (vision?.pixelValues.byteLength ?? 0);
      const reply = await this.request(id, { type: 'prefill', id, inputIds, vision });
      if (signal?.aborted) {
        this.post({ type: 'dispose-session', session: reply.session });
        throw new GenerationAbortedError('The prefill was aborted.');
      }
      return reply.multiStep ? new WorkerMultiStepSession(this, reply, inputBytes, reply.multiStep) : new WorkerDecodeSession(this, reply, inputBytes);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Runs the sampling loop inside the worker: the worker goes on to the next forward pass as soon
   * as a token is sampled, without waiting for this thread, and only token ids (and
   * log-probabilities when asked for) cross the thread boundary. Stopping the iteration (or
   * aborting) ends the loop in the worker after its current forward pass.
   */
  async *decode(plan: DecodePlan, tally: DecodeTally, options: { signal?: AbortSignal; transferInputs?: boolean } = {}): AsyncGenerator<SampledToken> {
    const signal = options.signal;
    if (signal?.aborted) {
      tally.finishReason = 'abort';
      return;
    }
    if (this.exitError) throw this.exitError;
    if (this.closed) throw new EngineWorkerError('ENGINE_DISPOSED', 'The engine was disposed; load the model again.');
    const id = this.pending.newId();
    const channel = new AsyncQueue<SampledToken>();
    let finished = false;
    const done = new Promise<DecodeDone | undefined>((resolve) => {
      this.decodes.set(id, {
        channel,
        done: (reply) => {
          finished = true;
          resolve(reply);
        },
      });
      // A worker-side error (or the worker dying) fails the token stream.
      this.pending.wait(id, {
        resolve: () => {},
        reject: (error) => {
          finished = true;
          this.decodes.delete(id);
          channel.fail(error);
          resolve(undefined);
        },
      });
    });
    const stop = () => this.post({ type: 'stop-decode', id });
    signal?.addEventListener('abort', stop, { once: true });
    // Prompt ids are structured-cloned; pixels are moved when the caller hands them over.
    const pixels = plan.vision?.pixelValues;
    const movePixels = options.transferInputs === true && pixels !== undefined && isWholeBuffer(pixels);
    this.worker.postMessage({ type: 'decode', id, plan } satisfies ToWorker, movePixels ? [pixels.buffer as ArrayBuffer] : []);
    tally.transferBytes += plan.inputIds.length * 8 + (pixels && !movePixels ? pixels.byteLength : 0);
    let tokens = 0;
    try {
      for await (const token of channel) {
        tokens++;
        yield token;
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      if (!finished) stop();
      const reply = await done;
      if (reply) {
        const { type: _type, id: _id, transferBytes, stepTransferBytes, ...rest } = reply;
        Object.assign(tally, rest);
        // The engine's own bytes, plus the 8-byte ids that crossed the thread boundary.
        tally.transferBytes += transferBytes + tokens * 8;
        tally.stepTransferBytes += stepTransferBytes + tokens * 8;
      }
    }
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.exited) return;
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.worker.terminate().then(() => resolve()), 10_000);
      this.worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'disposed') {
          clearTimeout(timer);
          resolve();
        }
      });
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.post({ type: 'dispose' });
    await done;
    this.failAll(new EngineWorkerError('ENGINE_DISPOSED', 'The engine was disposed.'));
  }

  /** @internal */
  stepRequest(session: number, tokenId: number, rewindTo?: number): Promise<LogitsReply> {
    const id = this.pending.newId();
    return this.request(id, { type: 'step', id, session, tokenId, ...(rewindTo !== undefined ? { rewindTo } : {}) });
  }

  /** @internal */
  chunkRequest(message: Omit<Extract<ToWorker, { type: 'decode-chunk' }>, 'type' | 'id'>): Promise<LogitsReply> {
    const id = this.pending.newId();
    return this.request(id, { type: 'decode-chunk', id, ...message });
  }

  /** @internal */
  post(message: ToWorker): void {
    if (this.closed && message.type !== 'dispose') return;
    this.worker.postMessage(message);
  }

  private request(id: number, message: ToWorker): Promise<LogitsReply> {
    if (this.exitError) return Promise.reject(this.exitError);
    if (this.closed) return Promise.reject(new EngineWorkerError('ENGINE_DISPOSED', 'The engine was disposed; load the model again.'));
    return new Promise((resolve, reject) => {
      this.pending.wait(id, { resolve, reject });
      this.worker.postMessage(message);
    });
  }

  private onMessage(msg: FromWorker): void {
    if (msg.type === 'token') {
      this.decodes.get(msg.id)?.channel.push(msg.token);
      return;
    }
    if (msg.type === 'decode-done') {
      const running = this.decodes.get(msg.id);
      this.decodes.delete(msg.id);
      this.pending.forget(msg.id);
      running?.channel.close();
      running?.done(msg);
      return;
    }
    if (isReply(msg)) this.pending.settle(msg, remoteError);
  }

  private failAll(error: Error): void {
    this.exitError ??= error;
    this.pending.failAll(error);
  }
}

class WorkerDecodeSession implements DecodeSession {
  protected current: Float32Array;
  protected transferBytes: number;
  protected disposed = false;
  /** A rewind not yet sent: it travels with the next step or chunk. */
  protected rewindTo?: number;

  constructor(
    protected readonly engine: WorkerEngine,
    protected readonly first: LogitsReply,
    inputBytes: number,
  ) {
    this.current = first.logits;
    this.transferBytes = first.engineBytes + first.copiedBytes + inputBytes;
  }

  get logits(): Float32Array {
    return this.current;
  }

  get lastTransferBytes(): number {
    return this.transferBytes;
  }

  async step(tokenId: number): Promise<Float32Array> {
    if (this.disposed) throw new EngineWorkerError('SESSION_DISPOSED', 'step() was called on a disposed decode session.');
    const rewindTo = this.takeRewind();
    const reply = await this.engine.stepRequest(this.first.session, tokenId, rewindTo);
    this.current = reply.logits;
    this.transferBytes = reply.engineBytes + reply.copiedBytes + 8;
    this.advanced(1);
    return reply.logits;
  }

  protected takeRewind(): number | undefined {
    const to = this.rewindTo;
    this.rewindTo = undefined;
    return to;
  }

  /** Positions fed by a step or a chunk (tracked by the multi-step proxy). */
  protected advanced(_count: number): void {}

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.engine.post({ type: 'dispose-session', session: this.first.session });
  }
}

/**
 * The proxy of a worker session that decodes several tokens per run and rewinds
 * (OnnxDecodeSession): chunked decoding driven from this thread, which chunked constrained
 * decoding needs (its constraint lives here). A rewind is sent with the next request.
 */
class WorkerMultiStepSession extends WorkerDecodeSession implements MultiStepDecodeSession {
  readonly repetitionPenaltyInGraph: boolean;
  readonly logprobsInGraph: boolean;
  lastLogprobs: Array<{ logprob: number; top: IdLogprob[] }> = [];
  private position: number;

  constructor(engine: WorkerEngine, first: LogitsReply, inputBytes: number, features: NonNullable<LogitsReply['multiStep']>) {
    super(engine, first, inputBytes);
    this.repetitionPenaltyInGraph = features.repetitionPenaltyInGraph;
    this.logprobsInGraph = features.logprobsInGraph;
    this.position = features.length;
  }

  get length(): number {
    return this.position;
  }

  rewind(length: number): void {
    if (this.disposed) throw new EngineWorkerError('SESSION_DISPOSED', 'rewind() was called on a disposed decode session.');
    if (!Number.isInteger(length) || length < 0 || length > this.position) throw new EngineWorkerError('ENGINE_BAD_REWIND', `cannot rewind a session of ${this.position} positions to ${length}`);
    this.position = length;
    this.rewindTo = length;
  }

  async decode(count: number, params: InGraphSampling, uniforms: number[], seen?: number[]): Promise<number[]> {
    if (this.disposed) throw new EngineWorkerError('SESSION_DISPOSED', 'decode() was called on a disposed decode session.');
    const rewindTo = this.takeRewind();
    const reply = await this.engine.chunkRequest({ session: this.first.session, count, params, uniforms, ...(seen ? { seen } : {}), ...(rewindTo !== undefined ? { rewindTo } : {}) });
    const ids = reply.ids ?? [];
    this.current = reply.logits;
    this.lastLogprobs = reply.logprobs ?? [];
    // The engine's bytes, the ids and uniforms posted, the ids back.
    this.transferBytes = reply.engineBytes + reply.copiedBytes + 8 * (count + (seen?.length ?? 0)) + 8 * ids.length;
    this.advanced(count);
    return ids;
  }

  protected override advanced(count: number): void {
    this.position += count;
  }
}

/** Rebuilds a worker-side error on this thread, keeping its stable code. */
function remoteError(error: SerializedError): EngineWorkerError {
  const e = new EngineWorkerError(error.code ?? 'ENGINE_ERROR', error.message);
  e.name = error.name === 'Error' ? 'EngineWorkerError' : error.name;
  return e;
}

function isWholeBuffer(array: Float32Array): boolean {
  return array.buffer instanceof ArrayBuffer && array.byteOffset === 0 && array.byteLength === array.buffer.byteLength;
}
