/**
 * The decode loop: prefill once, then sample and step token by token until an eos id, the token
 * budget, a stop string or an abort. Text is streamed as deltas that never split a character
 * and never contain (part of) a stop string.
 */
import type { ForwardEngine, VisionInputs } from '../model/engine.js';
import type { SamplingSettings } from '../model/types.js';
import { InvalidGenerationRequestError } from './errors.js';
import { tokenLogprobs, type IdLogprob } from './sampling/logprobs.js';
import { createSampler, validateSampling } from './sampling/sampler.js';
import { IncrementalDecoder } from './streaming/incremental-decoder.js';
import { StopStringMatcher } from './streaming/stop-strings.js';
import type { TokenDecoder } from './streaming/tokenizer-like.js';

export const DEFAULT_MAX_TOKENS = 512;

export type GenerationFinishReason = 'eos' | 'length' | 'stop' | 'abort';

export interface GeneratedToken {
  /** 0-based index among the generated tokens. */
  index: number;
  id: number;
  /** Present when `topLogprobs` was asked for: log-probability under the raw model distribution. */
  logprob?: number;
  /** The `topLogprobs` most likely ids at this step, most likely first. */
  top?: IdLogprob[];
}

export interface GenerateOptions {
  inputIds: number[];
  vision?: VisionInputs;
  sampling?: SamplingSettings;
  /** Ids that end the generation (generation_config.json `eos_token_id`); never streamed. */
  eosIds?: number[];
  /** Overrides sampling.maxTokens; default 512. */
  maxTokens?: number;
  /** Added to sampling.stop. */
  stop?: string[];
  signal?: AbortSignal;
  /** Released text, in order; concatenated it equals `result.text`. */
  onText?: (delta: string) => void | Promise<void>;
  /** Every generated token (eos excluded), with log-probabilities when asked for. */
  onToken?: (token: GeneratedToken) => void | Promise<void>;
  /** Compute log-probabilities with this many alternatives per token (0 = chosen token only). */
  topLogprobs?: number;
  /** Keep a copy of the logits after the prompt (guards read their first-token distribution). */
  keepFirstLogits?: boolean;
  /** Decode special tokens as text or drop them (default false: keep them, parsers may need them). */
  skipSpecial?: boolean;
}

export interface GenerationResult {
  tokenIds: number[];
  text: string;
  finishReason: GenerationFinishReason;
  promptTokens: number;
  /** The eos id that ended the generation, when finishReason is 'eos'. */
  eosId?: number;
  firstLogits?: Float32Array;
  /** Seed used for sampling; pass it back in sampling.seed to reproduce. */
  seed: number;
  /** Bytes copied between JS and the engine over the whole generation (prefill included). */
  transferBytes: number;
  /** Bytes copied by the decode steps only. */
  stepTransferBytes: number;
}

export async function generate(engine: ForwardEngine, tokenizer: TokenDecoder, options: GenerateOptions): Promise<GenerationResult> {
  const { inputIds, signal } = options;
  validateRequest(engine, options);
  const sampling = options.sampling ?? {};
  const maxTokens = options.maxTokens ?? sampling.maxTokens ?? DEFAULT_MAX_TOKENS;
  const eos = new Set(options.eosIds ?? []);
  const sampler = createSampler(sampling);
  const decoder = new IncrementalDecoder(tokenizer, { skipSpecial: options.skipSpecial });
  const stops = new StopStringMatcher([...(sampling.stop ?? []), ...(options.stop ?? [])].filter((s) => s.length > 0));

  const result: GenerationResult = {
    tokenIds: [],
    text: '',
    finishReason: 'length',
    promptTokens: inputIds.length,
    seed: sampler.seed,
    transferBytes: 0,
    stepTransferBytes: 0,
  };
  const release = async (text: string) => {
    if (!text) return;
    result.text += text;
    await options.onText?.(text);
  };

  if (signal?.aborted) return { ...result, finishReason: 'abort' };
  let session;
  try {
    session = await engine.prefill(inputIds, options.vision, { signal });
  } catch (error) {
    if (signal?.aborted) return { ...result, finishReason: 'abort' };
    throw error;
  }
  try {
    result.transferBytes += session.lastTransferBytes;
    let logits = session.logits;
    if (options.keepFirstLogits) result.firstLogits = logits.slice();
    // Every id so far, for the repetition penalty (HF penalises prompt tokens too).
    const seen = [...inputIds];

    for (;;) {
      if (signal?.aborted) {
        result.finishReason = 'abort';
        break;
      }
      const id = sampler.sample(logits, seen);
      if (eos.has(id)) {
        result.finishReason = 'eos';
        result.eosId = id;
        break;
      }
      seen.push(id);
      result.tokenIds.push(id);
      if (options.onToken) {
        const token: GeneratedToken = { index: result.tokenIds.length - 1, id };
        if (options.topLogprobs !== undefined) {
          const lp = tokenLogprobs(logits, id, options.topLogprobs);
          token.logprob = lp.chosen.logprob;
          token.top = lp.top;
        }
        await options.onToken(token);
      }
      const { text, stopped } = stops.push(decoder.push(id));
      await release(text);
      if (stopped) {
        result.finishReason = 'stop';
        break;
      }
      if (result.tokenIds.length >= maxTokens) {
        result.finishReason = 'length';
        break;
      }
      if (signal?.aborted) {
        result.finishReason = 'abort';
        break;
      }
      logits = await session.step(id);
      result.transferBytes += session.lastTransferBytes;
      result.stepTransferBytes += session.lastTransferBytes;
    }
    if (result.finishReason !== 'stop') {
      const tail = stops.push(decoder.flush());
      if (tail.stopped) result.finishReason = 'stop';
      await release(tail.text + (tail.stopped ? '' : stops.flush()));
    }
    return result;
  } finally {
    session.dispose();
  }
}

function validateRequest(engine: ForwardEngine, options: GenerateOptions): void {
  const { inputIds, eosIds, maxTokens, topLogprobs } = options;
  if (!Array.isArray(inputIds) || inputIds.length === 0)
    throw new InvalidGenerationRequestError('inputIds must be a non-empty array of token ids.');
  for (const id of inputIds)
    if (!Number.isInteger(id) || id < 0)
      throw new InvalidGenerationRequestError(`inputIds must hold non-negative integer token ids, got ${id}.`);
  for (const id of eosIds ?? [])
    if (!Number.isInteger(id) || id < 0 || id >= engine.vocabSize)
      throw new InvalidGenerationRequestError(`eosIds must be token ids in [0, ${engine.vocabSize}), got ${id}.`);
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1))
    throw new InvalidGenerationRequestError(`maxTokens must be an integer >= 1, got ${maxTokens}.`);
  if (topLogprobs !== undefined && (!Number.isInteger(topLogprobs) || topLogprobs < 0 || topLogprobs > 100))
    throw new InvalidGenerationRequestError(`topLogprobs must be an integer in [0, 100], got ${topLogprobs}.`);
  validateSampling(options.sampling);
}
