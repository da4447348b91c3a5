/**
 * Messages between WorkerEngine (main thread) and the engine worker. Logits travel as a moved
 * ArrayBuffer (transfer list), so a step's output is never copied on its way to the main thread.
 */
import type { VisionInputs } from '../../model/engine.js';
import type { DecodePlan, DecodeTally, SampledToken } from '../decode-plan.js';

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
  | { type: 'prefill'; req: number; inputIds: number[]; vision?: VisionInputs }
  | { type: 'step'; req: number; session: number; tokenId: number }
  | { type: 'abort'; req: number }
  /** Runs the whole sampling loop in the worker; tokens stream back as they are sampled. */
  | { type: 'decode'; req: number; plan: DecodePlan }
  /** Ends a running decode after its current forward pass. */
  | { type: 'stop-decode'; req: number }
  | { type: 'dispose-session'; session: number }
  | { type: 'dispose' };

export interface SerializedError {
  name: string;
  code?: string;
  message: string;
}

export type FromWorker =
  | { type: 'ready'; vocabSize: number; contextLength?: number }
  | { type: 'load-error'; error: SerializedError }
  | {
      type: 'logits';
      req: number;
      session: number;
      logits: Float32Array;
      /** The engine's own JS <-> onnxruntime bytes for this call. */
      engineBytes: number;
      /** Bytes copied to cross the thread boundary (0 when the buffer was moved). */
      copiedBytes: number;
    }
  | { type: 'token'; req: number; token: SampledToken }
  /** The worker's decode loop finished: its tally, as the loop filled it in. */
  | ({ type: 'decode-done'; req: number } & DecodeTally)
  | { type: 'error'; req: number; error: SerializedError }
  | { type: 'disposed' };

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, code: typeof code === 'string' ? code : undefined };
  }
  return { name: 'Error', message: String(error) };
}
