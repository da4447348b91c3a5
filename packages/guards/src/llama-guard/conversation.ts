import type { ChatMessage } from '@lookout/runtime';
import type { GuardSubject } from '../types.js';

/** One turn of Llama Guard's two-party conversation. */
export interface GuardTurn {
  role: 'user' | 'agent';
  /** Each text renders as its own "User: …" / "Agent: …" line (1B/11B); 8B joins them. */
  texts: string[];
}

export interface ConversationOptions {
  /** Keep only this many turns of history before the content under test. Default: all. */
  maxHistoryTurns?: number;
}

/** A tool call as the agent wrote it, in Llama 3's JSON tool-call form. */
export function toolCallText(name: string, args: unknown): string {
  return JSON.stringify({ name, parameters: args ?? {} });
}

/**
 * Maps an agent-loop subject onto Llama Guard's alternating User/Agent conversation:
 * - user messages and tool results are "User" turns: both are content entering the
 *   conversation from outside the agent (a tool result can carry an indirect injection);
 * - assistant text and tool calls are "Agent" turns (a call is rendered as its JSON);
 * - system messages are left out (they are the operator's, not under test);
 * - images in the history are left out; only the content under test carries images;
 * - consecutive turns of one role are merged, and history that starts with the agent is
 *   dropped, since the template requires user/agent alternation starting with the user.
 * The content under test is the last turn: "User" for input/tool-result, "Agent" for output/tool-call.
 */
export function toGuardTurns(subject: GuardSubject, options: ConversationOptions = {}): GuardTurn[] {
  const history: GuardTurn[] = [];
  for (const m of subject.conversation) {
    const turn = messageTurn(m);
    if (turn) pushMerged(history, turn);
  }
  let kept = history;
  if (options.maxHistoryTurns !== undefined) kept = options.maxHistoryTurns <= 0 ? [] : history.slice(-options.maxHistoryTurns);
  const underTest = subjectTurn(subject);
  const turns: GuardTurn[] = [];
  for (const t of kept) {
    if (turns.length === 0 && t.role === 'agent') continue;
    pushMerged(turns, { role: t.role, texts: [...t.texts] });
  }
  pushMerged(turns, underTest);
  // An agent turn with no user turn before it (e.g. checking a greeting) gets an empty user turn.
  if (turns[0].role === 'agent') turns.unshift({ role: 'user', texts: [''] });
  return turns;
}

function subjectTurn(subject: GuardSubject): GuardTurn {
  const { stage, content, tool } = subject;
  if (stage === 'tool-call') {
    const text = content.text !== '' || !tool ? content.text : toolCallText(tool.name, tool.arguments);
    return { role: 'agent', texts: [text] };
  }
  return { role: stage === 'output' ? 'agent' : 'user', texts: [content.text] };
}

function messageTurn(m: ChatMessage): GuardTurn | undefined {
  switch (m.role) {
    case 'system':
      return undefined;
    case 'user': {
      const texts = typeof m.content === 'string' ? [m.content] : m.content.flatMap((p) => (p.type === 'text' ? [p.text] : []));
      return texts.length ? { role: 'user', texts } : undefined;
    }
    case 'assistant': {
      const texts = [...(m.content.trim() ? [m.content] : []), ...(m.toolCalls ?? []).map((c) => toolCallText(c.name, c.arguments))];
      return texts.length ? { role: 'agent', texts } : undefined;
    }
    case 'tool':
      return { role: 'user', texts: [m.content] };
  }
}

function pushMerged(turns: GuardTurn[], turn: GuardTurn): void {
  const last = turns[turns.length - 1];
  if (last && last.role === turn.role) last.texts.push(...turn.texts);
  else turns.push({ role: turn.role, texts: [...turn.texts] });
}
