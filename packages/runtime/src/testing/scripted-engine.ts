/**
 * A ForwardEngine double: the logits after `n` generated tokens put a margin on `script[n]`
 * (and rank the other ids by a fixed table), so tests know exactly what greedy decoding yields.
 * It counts calls and can be slowed down to look like a real forward pass.
 */
import type { DecodeSession, ForwardEngine, VisionInputs } from '../model/engine.js';

export interface ScriptedEngineOptions {
  vocabSize: number;
  /** Token ids greedy decoding should produce, in order; after the end, id 0 wins. */
  script: number[];
  /** Milliseconds of synchronous busy work per forward pass (simulates session.run blocking). */
  busyMs?: number;
  /** Milliseconds of asynchronous waiting per forward pass (lets timers and other requests run). */
  delayMs?: number;
  /** Ends the whole thread (process.exit) at this step: simulates a crashing native engine. */
  exitAtStep?: number;
  /** Throws an error with code ENGINE_TEST_FAILURE at this step. */
  failAtStep?: number;
}

export class ScriptedEngine implements ForwardEngine {
  readonly vocabSize: number;
  prefills = 0;
  steps = 0;
  disposedSessions = 0;
  lastPrefill?: { inputIds: number[]; vision?: VisionInputs };

  constructor(private readonly options: ScriptedEngineOptions) {
    this.vocabSize = options.vocabSize;
  }

  /** Async factory, the shape WorkerEngine.start expects of an engine module. */
  static async create(options: ScriptedEngineOptions & { failWith?: { code: string; message: string } }): Promise<ScriptedEngine> {
    if (options.failWith) throw Object.assign(new Error(options.failWith.message), { code: options.failWith.code });
    return new ScriptedEngine(options);
  }

  async prefill(inputIds: number[], vision?: VisionInputs, opts?: { signal?: AbortSignal }): Promise<DecodeSession> {
    if (opts?.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    this.prefills++;
    this.lastPrefill = { inputIds: [...inputIds], vision };
    const engine = this;
    let position = 0;
    let logits = this.logitsAt(position);
    // Like an ONNX engine: int64 ids in, float32 logits out.
    let transferBytes = inputIds.length * 8 + logits.byteLength;
    busyWait(this.options.busyMs ?? 0);
    await delay(this.options.delayMs ?? 0);
    return {
      get logits() {
        return logits;
      },
      get lastTransferBytes() {
        return transferBytes;
      },
      async step(tokenId: number) {
        if (tokenId < 0) throw Object.assign(new Error(`token id must be >= 0, got ${tokenId}`), { code: 'BAD_TOKEN' });
        engine.steps++;
        if (engine.options.exitAtStep === engine.steps) process.exit(3);
        if (engine.options.failAtStep === engine.steps) throw Object.assign(new Error(`scripted failure at step ${engine.steps}`), { code: 'ENGINE_TEST_FAILURE' });
        busyWait(engine.options.busyMs ?? 0);
        await delay(engine.options.delayMs ?? 0);
        logits = engine.logitsAt(++position);
        transferBytes = 8 + logits.byteLength;
        return logits;
      },
      dispose() {
        engine.disposedSessions++;
      },
    };
  }

  async dispose(): Promise<void> {}

  private logitsAt(position: number): Float32Array {
    const logits = new Float32Array(this.vocabSize);
    for (let i = 0; i < logits.length; i++) logits[i] = ((i * 7919) % 13) / 13; // fixed, < 1
    logits[this.options.script[position] ?? 0] = 5;
    return logits;
  }
}

function delay(ms: number): Promise<void> | undefined {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : undefined;
}

function busyWait(ms: number): void {
  if (ms <= 0) return;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* blocks the thread on purpose, like onnxruntime-node's session.run */
  }
}
