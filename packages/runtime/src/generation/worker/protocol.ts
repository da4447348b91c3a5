/**
 * Messages between WorkerEngine (main thread) and the engine worker. Logits travel as a moved
 * ArrayBuffer (transfer list), so a step's output is never copied on its way to the main thread.
 */
import type { VisionInputs } from '../../model/engine.js';
import type { Reply, SerializedError } from '../../worker-support/index.js';
import type { DecodePlan, DecodeTally, SampledToken } from '../decode-plan.js';
import type { InGraphSampling } from '../chunked-decode.js';
import type { IdLogprob } from '../../sampling/logprobs.js';

/** How the worker builds its ForwardEngine: `await import(module)[exportName][method](...args)`. */
export interface EngineFactorySpec {
  /** file: URL or absolute path of the module. */
  module: string;
  exportName: string;
  /** Static factory method; omitted = call the export itself as an async function. */
  method?: string;
  /** Structured-cloneable arguments. */
  args: unknown[];
}

export type ToWorker =
  | { type: 'prefill'; id: number; inputIds: number[]; vision?: VisionInputs }
  /** `rewindTo`: first cut the session back to that many positions (a rejected chunk's tail). */
  | { type: 'step'; id: number; session: number; tokenId: number; rewindTo?: number }
  /** A multi-step run of the session (MultiStepDecodeSession.decode), for chunked constrained decoding. */
  | { type: 'decode-chunk'; id: number; session: number; count: number; params: InGraphSampling; uniforms: number[]; seen?: number[]; rewindTo?: number }
  /** Aborts the running prefill with this id. */
  | { type: 'abort'; id: number }
  /** Runs the whole sampling loop in the worker; tokens stream back as they are sampled. */
  | { type: 'decode'; id: number; plan: DecodePlan }
  /** Ends a running decode after its current forward pass. */
  | { type: 'stop-decode'; id: number }
  | { type: 'dispose-session'; session: number }
  | { type: 'dispose' };

/** A prefill's or a step's answer. */
export interface LogitsReply {
  session: number;
  logits: Float32Array;
  /** The engine's own JS <-> onnxruntime bytes for this call. */
  engineBytes: number;
  /** Bytes copied to cross the thread boundary (0 when the buffer was moved). */
  copiedBytes: number;
  /**
   * A prefill's: the session can decode several tokens per run and rewind (OnnxDecodeSession),
   * with these in-graph features; absent when it cannot.
   */
  multiStep?: { repetitionPenaltyInGraph: boolean; logprobsInGraph: boolean; length: number };
  /** A decode-chunk's tokens and, when asked for, the log-probabilities of those after the first. */
  ids?: number[];
  logprobs?: Array<{ logprob: number; top: IdLogprob[] }>;
}

export type FromWorker =
  | { type: 'ready'; vocabSize: number; contextLength?: number }
  | { type: 'load-error'; error: SerializedError }
  /** A prefill's or step's logits, or the error of any request (a decode's included). */
  | Reply<LogitsReply>
  | { type: 'token'; id: number; token: SampledToken }
  /** The worker's decode loop finished: its tally, as the loop filled it in. */
  | ({ type: 'decode-done'; id: number } & DecodeTally)
  | { type: 'disposed' };
