/**
 * Constrained decoding in chunks: the in-graph decode loop cannot apply a JS mask, so it runs
 * speculatively. A chunk is decoded in the graph exactly as for free decoding (same sampler
 * settings, same uniforms); its tokens are then walked through the constraint in JS and the
 * longest allowed prefix is kept. At the first refused token the session is rewound to the
 * accepted tokens (the last one is fed again for its logits) and that position is decided in JS
 * with the mask, as the per-token path does; then chunks go on.
 *
 * Exact: greedy output is token for token the per-token path's (an allowed argmax is the masked
 * argmax); a sampled token has the per-token path's masked distribution (the refused draft is
 * replaced by a draw from the residual, constrained-choice.ts). Positions where the mask allows a
 * single token take it without sampling. chunk-policy.ts decides when a chunk is worth running.
 */
import type { DecodeSession } from '../model/engine.js';
import type { TokenConstraint } from '../constraints/token-constraint.js';
import { tokenLogprobs } from '../sampling/logprobs.js';
import { seededRandom } from '../sampling/prng.js';
import { DEFAULT_DECODE_CHUNK, type InGraphSampling, type MultiStepDecodeSession } from './chunked-decode.js';
import { ChunkPolicy } from './chunk-policy.js';
import { draftToken, ResidualSampler } from './constrained-choice.js';
import type { ConstrainedDecodeStats, DecodePlan, DecodeTally, SampledToken } from './decode-plan.js';

/** A decode session that can drop its last positions (OnnxDecodeSession, the worker's proxy). */
export interface RewindableSession extends DecodeSession {
  /** Positions in the session (prompt and fed tokens). */
  readonly length: number;
  /** Keeps the first `length` positions; `logits` are stale until the next step or decode. */
  rewind(length: number): void;
}

export function canRewind(session: DecodeSession): session is RewindableSession {
  const s = session as Partial<RewindableSession>;
  return typeof s.rewind === 'function' && typeof s.length === 'number';
}

export function newConstrainedStats(): ConstrainedDecodeStats {
  return { chunks: 0, proposed: 0, accepted: 0, rewinds: 0, drafted: 0, masked: 0, forced: 0 };
}

export async function* decodeConstrainedInChunks(
  session: MultiStepDecodeSession & RewindableSession,
  plan: DecodePlan,
  params: InGraphSampling,
  constraint: TokenConstraint,
  tally: DecodeTally,
  signal?: AbortSignal,
): AsyncGenerator<SampledToken> {
  const eos = new Set(plan.eosIds);
  const greedy = params.topK === 1;
  // The drafts' and chunks' uniforms, one per position the graph (or the draft rule) chooses; the
  // masked draws have a stream of their own.
  const random = seededRandom(plan.sampling.seed);
  const sampler = new ResidualSampler(plan.sampling);
  const policy = new ChunkPolicy(plan.decodeChunk ?? DEFAULT_DECODE_CHUNK);
  const stats = (tally.constrained = newConstrainedStats());
  let logits = session.logits;
  // Every id so far (the repetition penalty counts prompt tokens too).
  const seen = [...plan.inputIds];
  const penaltySeen = params.repetitionPenalty === undefined ? undefined : seen;
  let masked: Float32Array | undefined;
  let produced = 0;
  let inString = constraint.inString;

  const account = () => {
    tally.transferBytes += session.lastTransferBytes;
    tally.stepTransferBytes += session.lastTransferBytes;
  };
  const withLogprobs = (token: SampledToken, from: () => { logprob: number; top?: SampledToken['top'] }): SampledToken => {
    if (plan.topLogprobs === undefined) return token;
    const lp = from();
    return { ...token, logprob: lp.logprob, top: lp.top };
  };
  const fromLogits = (l: Float32Array, id: number) => () => {
    const lp = tokenLogprobs(l, id, plan.topLogprobs!);
    return { logprob: lp.chosen.logprob, top: lp.top };
  };
  /**
   * The masked choice at this position: the residual of the model's refused token (drawn from
   * `logits` unmasked), or, where none was looked at, the per-token path's masked draw.
   */
  const maskedChoice = (refused: boolean): number => {
    masked ??= new Float32Array(logits.length);
    constraint.applyMask(logits, masked, plan.maxTokens - produced);
    stats.masked++;
    return refused ? sampler.sample(logits, masked, seen) : sampler.sampleMasked(masked, seen);
  };
  /** After an accepted token: whether the generation ends here (the tally says why). */
  const ended = (): boolean => {
    if (constraint.finished) {
      tally.finishReason = 'eos';
      return true;
    }
    if (produced >= plan.maxTokens) {
      tally.finishReason = constraint.complete ? 'eos' : 'length';
      return true;
    }
    return false;
  };
  const aborted = (): boolean => {
    if (!signal?.aborted) return false;
    tally.finishReason = 'abort';
    return true;
  };

  /**
   * One chunk from here, its first token chosen with `u`; yields the accepted tokens. Returns
   * 'ended' when the generation ended, 'whole' when every token was accepted (logits follow the
   * last), or 'cut' with the session rewound and `logits` those of the refused position.
   */
  async function* chunk(u: number): AsyncGenerator<SampledToken, 'ended' | 'whole' | 'cut'> {
    const count = Math.min(policy.size, plan.maxTokens - produced);
    const uniforms = [u];
    for (let i = 1; i < count; i++) uniforms.push(greedy ? 0 : random.next());
    const start = session.length;
    const before = logits;
    const ids = await session.decode(count, params, uniforms, penaltySeen);
    account();
    tally.chunks = (tally.chunks ?? 0) + 1;
    stats.chunks++;
    stats.proposed += count;
    if (aborted()) return 'ended';
    let accepted = 0;
    for (; accepted < ids.length; accepted++) {
      const t = ids[accepted];
      if (!constraint.allows(t, plan.maxTokens - produced)) break;
      if (eos.has(t)) {
        stats.accepted++;
        tally.finishReason = 'eos';
        tally.eosId = t;
        return 'ended';
      }
      constraint.advance(t);
      seen.push(t);
      produced++;
      stats.accepted++;
      const i = accepted;
      yield withLogprobs({ id: t, endOfChunk: i === ids.length - 1 }, i === 0 ? fromLogits(before, t) : () => session.lastLogprobs![i - 1]);
      if (ended()) return 'ended';
    }
    policy.chunked(accepted, count);
    if (accepted === ids.length) {
      logits = session.logits;
      return 'whole';
    }
    // Refused at `accepted`: back to the accepted tokens, the last one fed again for the logits
    // of this position (the graph returns only the chunk's last logits).
    stats.rewinds++;
    if (accepted === 0) {
      session.rewind(start);
      logits = before;
    } else {
      session.rewind(start + accepted - 1);
      logits = await session.step(ids[accepted - 1]);
      account();
    }
    return aborted() ? 'ended' : 'cut';
  }

  for (;;) {
    if (aborted()) return;
    const left = plan.maxTokens - produced;
    let id = constraint.forcedToken(left);
    if (id !== undefined) stats.forced++;
    else if (!policy.draftNow) id = maskedChoice(false);
    else {
      // The model's own token, by the rule a chunk's first token is chosen with (same uniform).
      const u = greedy ? 0 : random.next();
      const draft = draftToken(logits, params, u, penaltySeen);
      if (!constraint.allows(draft, left)) {
        policy.refused();
        id = maskedChoice(true);
      } else if (left < 2 || eos.has(draft)) {
        id = draft;
        stats.drafted++;
      } else {
        const outcome = yield* chunk(u);
        if (outcome === 'ended') return;
        if (outcome === 'whole') {
          noteString();
          continue;
        }
        id = maskedChoice(true);
      }
    }
    policy.stepped();
    if (eos.has(id)) {
      tally.finishReason = 'eos';
      tally.eosId = id;
      return;
    }
    constraint.advance(id);
    seen.push(id);
    produced++;
    yield withLogprobs({ id }, fromLogits(logits, id));
    if (ended() || aborted()) return;
    noteString();
    logits = await session.step(id);
    account();
  }

  /** Tells the policy when the output enters a string. */
  function noteString(): void {
    const now = constraint.inString;
    if (now && !inString) policy.enteredString();
    inString = now;
  }
}
