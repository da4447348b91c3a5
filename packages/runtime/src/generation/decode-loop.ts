/**
 * The token loop without text: prefill once, then sample and step until an eos id, the token
 * budget or an abort (several steps per forward run when the session can; chunked-decode.ts).
 * It is an async generator so that the consumer decides when to stop: a
 * consumer that stops iterating (a stop string was found) never pays for another forward pass.
 * generate() runs it on this thread; the engine worker runs the same loop next to the model.
 */
import type { ForwardEngine, VisionInputs } from '../model/engine.js';
import type { SamplingSettings } from '../model/types.js';
import { tokenLogprobs, type IdLogprob } from '../sampling/logprobs.js';
import { createSampler } from '../sampling/sampler.js';
import { canDecodeInChunks, chunkedSampling, decodeInChunks } from './chunked-decode.js';
import { prefillForDecode } from './prefill.js';

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

export async function* decodeTokens(engine: ForwardEngine, plan: DecodePlan, tally: DecodeTally, signal?: AbortSignal): AsyncGenerator<SampledToken> {
  // The sampler first: invalid settings fail before any forward run.
  const sampler = signal?.aborted ? undefined : createSampler(plan.sampling);
  const session = await prefillForDecode(engine, plan, tally, signal);
  if (!session || !sampler) return;
  const eos = new Set(plan.eosIds);
  try {
    let logits = session.logits;
    const inGraph = chunkedSampling(plan);
    if (inGraph && canDecodeInChunks(session, inGraph)) {
      yield* decodeInChunks(session, plan, inGraph, tally, signal);
      return;
    }
    // Every id so far, for the repetition penalty (HF penalises prompt tokens too).
    const seen = [...plan.inputIds];
    for (let produced = 0; ; ) {
      if (signal?.aborted) {
        tally.finishReason = 'abort';
        return;
      }
      const id = sampler.sample(logits, seen);
      if (eos.has(id)) {
        tally.finishReason = 'eos';
        tally.eosId = id;
        return;
      }
      seen.push(id);
      const token: SampledToken = { id };
      if (plan.topLogprobs !== undefined) {
        const lp = tokenLogprobs(logits, id, plan.topLogprobs);
        token.logprob = lp.chosen.logprob;
        token.top = lp.top;
      }
      yield token;
      if (++produced >= plan.maxTokens) {
        tally.finishReason = 'length';
        return;
      }
      if (signal?.aborted) {
        tally.finishReason = 'abort';
        return;
      }
      logits = await session.step(id);
      tally.transferBytes += session.lastTransferBytes;
      tally.stepTransferBytes += session.lastTransferBytes;
    }
  } finally {
    session.dispose();
  }
}
