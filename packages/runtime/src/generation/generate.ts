/**
 * generate(): one generation from token ids to text. The token loop (prefill, sample, step until
 * an eos id, the token budget or an abort; decode-loop.ts) runs here or, when the engine offers
 * it, next to the model in its worker; this side turns tokens into streamed text deltas that
 * never split a character and never contain (part of) a stop string, and stops on stop strings.
 */
import type { ForwardEngine, VisionInputs } from '../model/engine.js';
import type { SamplingSettings } from '../model/types.js';
import { DEFAULT_DECODE_CHUNK } from './chunked-decode.js';
import { decodeTokens } from './decode-loop.js';
import { isSamplingEngine, newTally, type ConstrainedDecodeStats, type DecodePlan } from './decode-plan.js';
import type { TokenConstraint } from '../constraints/token-constraint.js';
import { ContextLengthExceededError, InvalidGenerationRequestError } from './errors.js';
import type { IdLogprob } from '../sampling/logprobs.js';
import { randomSeed } from '../sampling/prng.js';
import { validateSampling } from '../sampling/sampler.js';
import { StopStringMatcher } from './streaming/stop-strings.js';
import type { TokenDecoder } from './streaming/tokenizer-like.js';
import { StreamingDecoder } from '../tokenizer/streaming-decoder.js';

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
  /**
   * Let an engine that can run the sampling loop itself (WorkerEngine: next to the model, no
   * thread round trip per token) do so. Default true; false forces prefill/step from here.
   */
  decodeInEngine?: boolean;
  /**
   * The caller hands over `vision.pixelValues`: an engine in another thread may move the buffer
   * instead of copying it (the array is unusable afterwards). OnnxModel sets it for the inputs
   * it prepares itself.
   */
  transferInputs?: boolean;
  /**
   * Tokens per forward run when the engine can decode several steps in one run (the ONNX
   * build's in-graph loop): greedy or temperature/top-k/top-p, with or without a repetition
   * penalty and topLogprobs. Default 16; 1 = one forward run per token.
   */
  decodeChunk?: number;
  /** Decode special tokens as text or drop them (default false: keep them, parsers may need them). */
  skipSpecial?: boolean;
  /**
   * Only tokens this constraint allows are chosen (constraints/: JSON Schema, JSON object, forced
   * tool call). The loop runs on this thread (decodeInEngine does not apply); decodeChunk does,
   * speculatively (constrained-chunks.ts: the same tokens as one run per token when greedy, the
   * same distribution when sampled), except with a top-p cut. The finish reason is 'eos' once the
   * value is complete, 'length' when the budget ran out before.
   */
  constraint?: TokenConstraint;
}

export interface GenerationResult {
  tokenIds: number[];
  text: string;
  finishReason: GenerationFinishReason;
  promptTokens: number;
  /** Of promptTokens, how many the engine took from its prefix cache. */
  cachedPromptTokens: number;
  /** The eos id that ended the generation, when finishReason is 'eos'. */
  eosId?: number;
  firstLogits?: Float32Array;
  /** Seed used for sampling; pass it back in sampling.seed to reproduce. */
  seed: number;
  /** Bytes copied between JS and the engine over the whole generation (prefill included). */
  transferBytes: number;
  /** Bytes copied by the decode steps only. */
  stepTransferBytes: number;
  /** Multi-step forward runs used after the prefill (0 when every token had its own run). */
  decodeChunks: number;
  /** Under a constraint decoded in chunks: what the chunks proposed and what was accepted. */
  constrained?: ConstrainedDecodeStats;
}

export async function generate(engine: ForwardEngine, tokenizer: TokenDecoder, options: GenerateOptions): Promise<GenerationResult> {
  const { inputIds, signal } = options;
  validateRequest(engine, options);
  const sampling = options.sampling ?? {};
  const plan: DecodePlan = {
    inputIds,
    vision: options.vision,
    sampling: { ...sampling, seed: sampling.seed ?? randomSeed() },
    eosIds: options.eosIds ?? [],
    // Never past the model's context: a request that would run out ends with 'length' there.
    maxTokens: Math.min(options.maxTokens ?? sampling.maxTokens ?? DEFAULT_MAX_TOKENS, (engine.contextLength ?? Infinity) - inputIds.length),
    topLogprobs: options.topLogprobs,
    keepFirstLogits: options.keepFirstLogits,
    decodeChunk: options.decodeChunk ?? DEFAULT_DECODE_CHUNK,
  };
  const decoder = new StreamingDecoder(tokenizer, { skipSpecial: options.skipSpecial });
  const stops = new StopStringMatcher([...(sampling.stop ?? []), ...(options.stop ?? [])].filter((s) => s.length > 0));
  const tally = newTally();
  const useEngineLoop = options.decodeInEngine !== false && isSamplingEngine(engine);
  // A constraint is applied on this thread, so a constrained generation never runs in the engine.
  const tokens =
    useEngineLoop && !options.constraint
      ? engine.decode(plan, tally, { signal, transferInputs: options.transferInputs })
      : decodeTokens(engine, plan, tally, signal, options.constraint);

  const result: GenerationResult = {
    tokenIds: [],
    text: '',
    finishReason: 'length',
    promptTokens: inputIds.length,
    cachedPromptTokens: 0,
    seed: plan.sampling.seed,
    transferBytes: 0,
    stepTransferBytes: 0,
    decodeChunks: 0,
  };
  // Text of a decode chunk is held until its last token, so a chunk streams as one delta.
  let held = '';
  const release = async (text: string) => {
    text = held + text;
    held = '';
    if (!text) return;
    result.text += text;
    await options.onText?.(text);
  };

  // Set when this loop ends the generation; otherwise the decode loop's reason applies.
  let ended: GenerationFinishReason | undefined;
  for await (const token of tokens) {
    result.tokenIds.push(token.id);
    if (options.onToken) await options.onToken({ index: result.tokenIds.length - 1, ...token });
    const { text, stopped } = stops.push(decoder.push(token.id));
    if (token.endOfChunk === false && !stopped) held += text;
    else await release(text);
    if (stopped) {
      ended = 'stop';
      break;
    }
    if (signal?.aborted) {
      ended = 'abort';
      break;
    }
  }
  await release('');
  result.finishReason = ended ?? tally.finishReason ?? (signal?.aborted ? 'abort' : 'length');
  result.cachedPromptTokens = tally.cachedPromptTokens ?? 0;
  if (tally.eosId !== undefined && result.finishReason === 'eos') result.eosId = tally.eosId;
  if (result.finishReason !== 'stop') {
    const tail = stops.push(decoder.flush());
    if (tail.stopped) result.finishReason = 'stop';
    await release(tail.text + (tail.stopped ? '' : stops.flush()));
  }
  result.firstLogits = tally.firstLogits;
  result.transferBytes = tally.transferBytes;
  result.stepTransferBytes = tally.stepTransferBytes;
  result.decodeChunks = tally.chunks ?? 0;
  if (tally.constrained) result.constrained = tally.constrained;
  return result;
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
  if (engine.contextLength !== undefined && inputIds.length >= engine.contextLength)
    throw new ContextLengthExceededError(inputIds.length, engine.contextLength);
  if (topLogprobs !== undefined && (!Number.isInteger(topLogprobs) || topLogprobs < 0 || topLogprobs > 100))
    throw new InvalidGenerationRequestError(`topLogprobs must be an integer in [0, 100], got ${topLogprobs}.`);
  const { decodeChunk } = options;
  if (decodeChunk !== undefined && (!Number.isInteger(decodeChunk) || decodeChunk < 1))
    throw new InvalidGenerationRequestError(`decodeChunk must be an integer >= 1 (1 = one forward run per token), got ${decodeChunk}.`);
  validateSampling(options.sampling);
}
