import type { ForwardEngine } from '../model/engine.js';
import type { DecodePlan, DecodeTally } from './decode-plan.js';

export type DecodeSession = Awaited<ReturnType<ForwardEngine['prefill']>>;

/**
 * The prompt's forward run, shared by the token loops (free and constrained): accounts its
 * transfer and cached positions in the tally and keeps the first logits when asked. Undefined
 * when the signal aborted before or during it (the tally then says 'abort').
 */
export async function prefillForDecode(engine: ForwardEngine, plan: DecodePlan, tally: DecodeTally, signal?: AbortSignal): Promise<DecodeSession | undefined> {
  if (signal?.aborted) {
    tally.finishReason = 'abort';
    return undefined;
  }
  let session: DecodeSession;
  try {
    session = await engine.prefill(plan.inputIds, plan.vision, { signal });
  } catch (error) {
    if (signal?.aborted) {
      tally.finishReason = 'abort';
      return undefined;
    }
    throw error;
  }
  tally.transferBytes += session.lastTransferBytes;
  if (session.reusedPositions) tally.cachedPromptTokens = session.reusedPositions;
  if (plan.keepFirstLogits) tally.firstLogits = session.logits.slice();
  return session;
}
