/**
 * Multi-step decoding: when the engine's decode session can run several decode steps in one
 * forward run (the ONNX build's in-graph `Loop`, `OnnxDecodeSession.decode`), the token loop asks
 * for `decodeChunk` tokens at a time. The KV cache then crosses between JS and onnxruntime once
 * per chunk instead of once per token, which is what costs on CUDA. Eos, the token budget and the
 * abort signal are checked between chunks; tokens after an eos inside a chunk are dropped.
 */
import type { DecodeSession } from '../model/engine.js';
import type { SamplingSettings } from '../model/types.js';
import type { DecodePlan, DecodeTally, SampledToken } from './decode-plan.js';
import { seededRandom } from '../sampling/prng.js';
import { tokenLogprobs, type IdLogprob } from '../sampling/logprobs.js';


/** Chunk size used when neither OnnxModel.load nor generate() names one. */
export const DEFAULT_DECODE_CHUNK = 16;

/** What the in-graph sampler takes (onnx/token-choice.ts `SampleParams`). */
export interface InGraphSampling {
  temperature: number;
  /** 0 = no top-k cut. */
  topK: number;
  topP: number;
  /** HF's repetition penalty over every id so far (absent = off). */
  repetitionPenalty?: number;
  /** Log-probabilities of each in-graph token and this many alternatives' (absent = none). */
  topLogprobs?: number;
}

/** A decode session that can choose and feed `count` tokens in one run. */
export interface MultiStepDecodeSession extends DecodeSession {
  /**
   * Chooses `count` tokens (temperature / top-k / top-p; top-k 1 is greedy), one caller-drawn
   * uniform in [0, 1) per token, and feeds them all: afterwards `logits` follow the last one.
   */
  decode(count: number, params: InGraphSampling, uniforms: number[], seen?: number[]): Promise<number[]>;
  /** False when the session cannot apply a repetition penalty itself (then: one step per token). */
  readonly repetitionPenaltyInGraph?: boolean;
  /** True when decode() returns log-probabilities (lastLogprobs) for the tokens after the first. */
  readonly logprobsInGraph?: boolean;
  readonly lastLogprobs?: ReadonlyArray<{ logprob: number; top: IdLogprob[] }>;
}

export function isMultiStepSession(session: DecodeSession): session is MultiStepDecodeSession {
  return typeof (session as Partial<MultiStepDecodeSession>).decode === 'function';
}

/** Whether a session can decode in chunks with these in-graph sampling parameters. */
export function canDecodeInChunks(session: DecodeSession, params: InGraphSampling): session is MultiStepDecodeSession {
  return (
    isMultiStepSession(session) &&
    (params.repetitionPenalty === undefined || session.repetitionPenaltyInGraph !== false) &&
    (params.topLogprobs === undefined || session.logprobsInGraph === true)
  );
}

/** Top-k 1 at temperature 1: the in-graph sampler's argmax. */
const GREEDY: InGraphSampling = { temperature: 1, topK: 1, topP: 1 };

/**
 * The in-graph sampler's parameters for these settings. A repetition penalty goes with them: the
 * graph keeps the seen ids as loop state. Any top-k works, 0 (no cut) included: the graph clamps
 * it to the vocabulary and the session's JS choice of each chunk's first token selects
 * candidates without sorting the vocabulary.
 */
export function inGraphSampling(settings: SamplingSettings): InGraphSampling | undefined {
  const penalty = settings.repetitionPenalty ?? 1;
  const temperature = settings.temperature ?? 0;
  const base = temperature === 0 ? GREEDY : { temperature, topK: settings.topK ?? 0, topP: settings.topP ?? 1 };
  return penalty === 1 ? base : { ...base, repetitionPenalty: penalty };
}

/**
 * Whether a plan may be decoded in chunks (a chunk above 1), with what in-graph parameters.
 * Log-probabilities go along: the loop returns them for the tokens it chooses.
 */
export function chunkedSampling(plan: DecodePlan): InGraphSampling | undefined {
  if ((plan.decodeChunk ?? DEFAULT_DECODE_CHUNK) <= 1) return undefined;
  const params = inGraphSampling(plan.sampling);
  return params && plan.topLogprobs !== undefined ? { ...params, topLogprobs: plan.topLogprobs } : params;
}

/**
 * The token loop after the prefill, `chunk` tokens per forward run. Uniforms come from the
 * plan's seeded PRNG, one per token, so a seed gives the same tokens at every chunk size > 1
 * (not the same as the per-token sampler's: see docs/generation.md).
 */
export async function* decodeInChunks(
  session: MultiStepDecodeSession,
  plan: DecodePlan,
  params: InGraphSampling,
  tally: DecodeTally,
  signal?: AbortSignal,
): AsyncGenerator<SampledToken> {
  const chunk = plan.decodeChunk ?? DEFAULT_DECODE_CHUNK;
  const eos = new Set(plan.eosIds);
  const random = seededRandom(plan.sampling.seed);
  const greedy = params.topK === 1;
  // Every id so far, for the repetition penalty (HF penalises prompt tokens too).
  const seen = params.repetitionPenalty === undefined ? undefined : [...plan.inputIds];
  for (let produced = 0; produced < plan.maxTokens; ) {
    if (signal?.aborted) {
      tally.finishReason = 'abort';
      return;
    }
    const count = Math.min(chunk, plan.maxTokens - produced);
    const uniforms = Array.from({ length: count }, () => (greedy ? 0 : random.next()));
    const before = session.logits; // what the chunk's first token is chosen from (in JS)
    const ids = await session.decode(count, params, uniforms, seen);
    if (seen) for (const id of ids) seen.push(id);
    tally.transferBytes += session.lastTransferBytes;
    tally.stepTransferBytes += session.lastTransferBytes;
    tally.chunks = (tally.chunks ?? 0) + 1;
    // An abort during the run: nothing of this chunk is released.
    if (signal?.aborted) {
      tally.finishReason = 'abort';
      return;
    }
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (eos.has(id)) {
        tally.finishReason = 'eos';
        tally.eosId = id;
        return;
      }
      produced++;
      // The last token of a chunk tells the consumer to release the chunk's text at once.
      const token: SampledToken = { id, endOfChunk: i === ids.length - 1 };
      if (params.topLogprobs !== undefined) {
        const lp = i === 0 ? firstLogprobs(before, id, params.topLogprobs) : session.lastLogprobs![i - 1];
        token.logprob = lp.logprob;
        token.top = lp.top;
      }
      yield token;
    }
  }
  tally.finishReason = 'length';
}

/** A chunk's first token is chosen in JS: its log-probabilities come from the JS rule. */
function firstLogprobs(logits: Float32Array, id: number, k: number): { logprob: number; top: IdLogprob[] } {
  const lp = tokenLogprobs(logits, id, k);
  return { logprob: lp.chosen.logprob, top: lp.top };
}
