/**
 * What the token loops share: the plan a generation runs (prompt, sampling with its seed, stop
 * ids, budget), the tokens it yields and the tally it fills in. The free loop (decode-loop.ts),
 * the chunked one (chunked-decode.ts), the constrained ones (decode-loop.ts per token,
 * constrained-chunks.ts in chunks) and the engine worker all take these.
 */
import type { ForwardEngine, VisionInputs } from '../model/engine.js';
import type { SamplingSettings } from '../model/types.js';
import type { IdLogprob } from '../sampling/logprobs.js';

export interface DecodePlan {
  inputIds: number[];
  vision?: VisionInputs;
  /** With the seed resolved, so that every place that runs the plan draws the same tokens. */
  sampling: SamplingSettings & { seed: number };
  eosIds: number[];
  maxTokens: number;
  topLogprobs?: number;
  keepFirstLogits?: boolean;
  /**
   * Tokens per forward run when the session can decode several steps in one run and the
   * sampling allows it (see chunked-decode.ts); 1 = one run per token. Default 16.
   */
  decodeChunk?: number;
}

export interface SampledToken {
  id: number;
  logprob?: number;
  top?: IdLogprob[];
  /** False for a token that has more of its decode chunk behind it (text may wait for those). */
  endOfChunk?: boolean;
}

/** What the loop reports besides its tokens; filled in as it runs. */
export interface DecodeTally {
  /** Set when the loop itself ended the generation. */
  finishReason?: 'eos' | 'length' | 'abort';
  eosId?: number;
  firstLogits?: Float32Array;
  transferBytes: number;
  stepTransferBytes: number;
  /** Multi-step forward runs made (absent when every token had its own run). */
  chunks?: number;
  /** Prompt tokens the engine took from its prefix cache. */
  cachedPromptTokens?: number;
  /** How a constrained generation decoded in chunks went (constrained-chunks.ts). */
  constrained?: ConstrainedDecodeStats;
}

/**
 * Chunked constrained decoding, counted: chunks run in the graph, the tokens they proposed and
 * the ones the constraint accepted, and the positions decided in JS (each one forward run).
 */
export interface ConstrainedDecodeStats {
  chunks: number;
  proposed: number;
  accepted: number;
  /** Chunks cut by a refused token: the session was rewound and its last accepted token fed again. */
  rewinds: number;
  /** Positions where the model's own token was allowed and taken without a chunk. */
  drafted: number;
  /** Positions chosen under the mask (the model's own token was refused). */
  masked: number;
  /** Positions where the mask allowed a single token, taken without sampling. */
  forced: number;
}

/** An engine that runs the whole decode loop itself (e.g. in its worker, next to the model). */
export interface SamplingEngine extends ForwardEngine {
  /** `transferInputs`: the engine may take ownership of the plan's pixel buffer (no copy). */
  decode(plan: DecodePlan, tally: DecodeTally, options?: { signal?: AbortSignal; transferInputs?: boolean }): AsyncIterable<SampledToken>;
}

export function isSamplingEngine(engine: ForwardEngine): engine is SamplingEngine {
  return typeof (engine as Partial<SamplingEngine>).decode === 'function';
}

export function newTally(): DecodeTally {
  return { transferBytes: 0, stepTransferBytes: 0 };
}
