import { composeGuards, type Guard, type Stage, type Verdict } from '@lookout/guards';
import type { BaseMessage } from '@langchain/core/messages';
import type { ChatMessage } from '@lookout/runtime';
import { subjectContent, toLookoutMessages } from './messages.js';

export interface StageGuardOptions {
  /** Per-guard time limit; a guard that runs over counts as unsafe (fail-closed). Default 10 s. */
  timeoutMs?: number;
}

/** Several guards of one stage as one: parallel, first unsafe verdict wins, fail-closed. */
export function stageGuard(guards: Guard[] | undefined, stage: Stage, options: StageGuardOptions): Guard | undefined {
  if (!guards?.length) return undefined;
  return guards.length === 1 && !options.timeoutMs ? guards[0] : composeGuards(guards, { name: `${stage}-guards`, timeoutMs: options.timeoutMs ?? 10_000 });
}

/** LangChain history as the guard's conversation; messages Lookout cannot express are left out rather than failing the check. */
export function conversationOf(messages: BaseMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of messages) {
    try {
      out.push(...toLookoutMessages([m]));
    } catch {
      // e.g. RemoveMessage markers or file blocks: not content a guard needs.
    }
  }
  return out;
}

export async function checkMessage(guard: Guard, stage: Stage, history: BaseMessage[], message: BaseMessage, signal?: AbortSignal): Promise<Verdict> {
  const [converted] = conversationOf([message]);
  const content = converted ? subjectContent(converted) : { text: message.text, images: [] };
  return guard.check({ stage, conversation: conversationOf(history), content }, { signal });
}
