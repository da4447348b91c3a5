/**
 * The token loop under a constraint (constraints/): one forward run per token, the mask applied
 * to the logits in JS before the sampler sees them. The in-graph multi-step loop chooses its
 * tokens inside onnxruntime, where no mask can be applied, so a constrained generation never
 * decodes in chunks (docs/structured-output.md gives the cost). The unconstrained loops
 * (decode-loop.ts, chunked-decode.ts) are not touched by any of this.
 */
import type { ForwardEngine } from '../model/engine.js';
import type { TokenConstraint } from '../constraints/token-constraint.js';
import type { DecodePlan, DecodeTally, SampledToken } from './decode-plan.js';
import { tokenLogprobs } from '../sampling/logprobs.js';
import { createSampler } from '../sampling/sampler.js';
import { prefillForDecode } from './prefill.js';

export async function* decodeConstrained(
  engine: ForwardEngine,
  plan: DecodePlan,
  constraint: TokenConstraint,
  tally: DecodeTally,
  signal?: AbortSignal,
): AsyncGenerator<SampledToken> {
  // The sampler first: invalid settings fail before any forward run.
  const sampler = signal?.aborted ? undefined : createSampler(plan.sampling);
  const session = await prefillForDecode(engine, plan, tally, signal);
  if (!session || !sampler) return;
  const eos = new Set(plan.eosIds);
  try {
    let logits = session.logits;
    const masked = new Float32Array(logits.length);
    const seen = [...plan.inputIds];
    for (let produced = 0; ; ) {
      if (signal?.aborted) {
        tally.finishReason = 'abort';
        return;
      }
      constraint.applyMask(logits, masked, plan.maxTokens - produced);
      const id = sampler.sample(masked, seen);
      if (eos.has(id)) {
        tally.finishReason = 'eos';
        tally.eosId = id;
        return;
      }
      constraint.advance(id);
      seen.push(id);
      const token: SampledToken = { id };
      if (plan.topLogprobs !== undefined) {
        // Under the model's own distribution, as without a constraint.
        const lp = tokenLogprobs(logits, id, plan.topLogprobs);
        token.logprob = lp.chosen.logprob;
        token.top = lp.top;
      }
      yield token;
      // A value that nothing can follow ends here: no forward run for an end token.
      if (constraint.finished) {
        tally.finishReason = 'eos';
        return;
      }
      if (++produced >= plan.maxTokens) {
        tally.finishReason = constraint.complete ? 'eos' : 'length';
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
