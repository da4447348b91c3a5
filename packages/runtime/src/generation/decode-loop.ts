/**
 * The token loop without text: prefill once, then sample and step until an eos id, the token
 * budget or an abort (several steps per forward run when the session can; chunked-decode.ts).
 * It is an async generator so that the consumer decides when to stop: a
 * consumer that stops iterating (a stop string was found) never pays for another forward pass.
 * generate() runs it on this thread; the engine worker runs the same loop next to the model.
 *
 * Under a constraint (constraints/, response_format and forced tool calls) the in-graph
 * multi-step loop, which chooses its tokens inside onnxruntime where no mask can be applied, runs
 * speculatively when the session can rewind (constrained-chunks.ts: chunks checked against the
 * constraint, the first refused token replaced under the mask), for greedy decoding and top-k
 * cuts (constrained-choice.ts says why not otherwise). Otherwise the mask is applied to the
 * logits in JS before the sampler sees them, one forward run per token
 * (docs/structured-output.md gives the costs).
 */
import type { ForwardEngine } from '../model/engine.js';
import type { TokenConstraint } from '../constraints/token-constraint.js';
import { tokenLogprobs } from '../sampling/logprobs.js';
import { createSampler } from '../sampling/sampler.js';
import { canDecodeInChunks, chunkedSampling, decodeInChunks } from './chunked-decode.js';
import { chunksUnderConstraint } from './constrained-choice.js';
import { canRewind, decodeConstrainedInChunks } from './constrained-chunks.js';
import type { DecodePlan, DecodeTally, SampledToken } from './decode-plan.js';
import { prefillForDecode } from './prefill.js';

export async function* decodeTokens(
  engine: ForwardEngine,
  plan: DecodePlan,
  tally: DecodeTally,
  signal?: AbortSignal,
  constraint?: TokenConstraint,
): AsyncGenerator<SampledToken> {
  // The sampler first: invalid settings fail before any forward run.
  const sampler = signal?.aborted ? undefined : createSampler(plan.sampling);
  const session = await prefillForDecode(engine, plan, tally, signal);
  if (!session || !sampler) return;
  const eos = new Set(plan.eosIds);
  try {
    let logits = session.logits;
    const inGraph = chunkedSampling(plan);
    if (inGraph && canDecodeInChunks(session, inGraph)) {
      if (!constraint) {
        yield* decodeInChunks(session, plan, inGraph, tally, signal);
        return;
      }
      if (chunksUnderConstraint(inGraph, logits.length) && canRewind(session)) {
        yield* decodeConstrainedInChunks(session, plan, inGraph, constraint, tally, signal);
        return;
      }
    }
    const masked = constraint ? new Float32Array(logits.length) : undefined;
    // Every id so far, for the repetition penalty (HF penalises prompt tokens too).
    const seen = [...plan.inputIds];
    for (let produced = 0; ; ) {
      if (signal?.aborted) {
        tally.finishReason = 'abort';
        return;
      }
      if (masked) constraint!.applyMask(logits, masked, plan.maxTokens - produced);
      const id = sampler.sample(masked ?? logits, seen);
      if (eos.has(id)) {
        tally.finishReason = 'eos';
        tally.eosId = id;
        return;
      }
      constraint?.advance(id);
      seen.push(id);
      const token: SampledToken = { id };
      if (plan.topLogprobs !== undefined) {
        // Under the model's own distribution, with or without a constraint.
        const lp = tokenLogprobs(logits, id, plan.topLogprobs);
        token.logprob = lp.chosen.logprob;
        token.top = lp.top;
      }
      yield token;
      // A constrained value that nothing can follow ends here: no forward run for an end token.
      if (constraint?.finished) {
        tally.finishReason = 'eos';
        return;
      }
      if (++produced >= plan.maxTokens) {
        tally.finishReason = constraint?.complete ? 'eos' : 'length';
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
