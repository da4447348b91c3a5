import { AIMessage, BaseMessage, HumanMessage } from '@langchain/core/messages';
import { RunnableLambda } from '@langchain/core/runnables';
import type { Guard, Stage, Verdict } from '@lookout/guards';
import { checkMessage, stageGuard, type StageGuardOptions } from './guard-check.js';
import { GuardBlockedError } from './errors.js';

export interface GuardRunnableOptions extends StageGuardOptions {
  /** Which stage the content is (input before a model, output after it). Default "input". */
  stage?: Stage;
  /** "throw" (default): GuardBlockedError, catch it with .withFallbacks(); "refuse": return the refusal instead. */
  onBlock?: 'throw' | 'refuse';
  refusal?: string;
  onVerdict?: (stage: Stage, verdict: Verdict) => void;
}

export type GuardInput = string | BaseMessage | BaseMessage[] | { toChatMessages(): BaseMessage[] };

/**
 * Guards as an LCEL step: `guardRunnable([guard]).pipe(model).pipe(guardRunnable([guard], { stage: 'output' }))`.
 * Safe content passes through unchanged. The last message is what is checked; earlier ones are its conversation.
 */
export function guardRunnable<T extends GuardInput = GuardInput>(guards: Guard[], options: GuardRunnableOptions = {}): RunnableLambda<T, T> {
  const stage = options.stage ?? 'input';
  const guard = stageGuard(guards, stage, options);
  if (!guard) throw new RangeError('guardRunnable needs at least one guard');
  return RunnableLambda.from(async (value: T, config?: { signal?: AbortSignal }): Promise<T> => {
    const messages = toMessages(value, stage);
    const last = messages.at(-1);
    if (!last) return value;
    const verdict = await checkMessage(guard, stage, messages.slice(0, -1), last, config?.signal);
    options.onVerdict?.(stage, verdict);
    if (verdict.safe) return value;
    if (options.onBlock === 'refuse') {
      const refusal = options.refusal ?? "Sorry, I can't help with that.";
      // The refusal keeps the input's shape so the chain's next step still accepts it.
      const message = new AIMessage({ content: refusal, response_metadata: { lookout_blocked: { stage, verdict } } });
      if (typeof value === 'string') return refusal as T;
      if (Array.isArray(value)) return [message] as T;
      if (BaseMessage.isInstance(value)) return message as unknown as T;
      return refusal as T;
    }
    throw new GuardBlockedError(stage, verdict);
  }).withConfig({ runName: `LookoutGuard(${stage})` }) as RunnableLambda<T, T>;
}

function toMessages(value: GuardInput, stage: Stage): BaseMessage[] {
  if (typeof value === 'string') return [stage === 'output' ? new AIMessage(value) : new HumanMessage(value)];
  if (Array.isArray(value)) return value;
  if (BaseMessage.isInstance(value)) return [value];
  if (value && typeof (value as { toChatMessages?: unknown }).toChatMessages === 'function') return (value as { toChatMessages(): BaseMessage[] }).toChatMessages();
  throw new TypeError('guardRunnable takes a string, a message, a message list or a prompt value');
}
