import type { Stage, Verdict } from '@lookout/guards';
import type { ToolErrorCode } from '@lookout/tools';
import type { GuardAction } from '../guarding/config.js';
import type { AgentResult, RunState } from './types.js';

interface Base {
  runId: string;
}

export interface TurnStartEvent extends Base {
  type: 'turn-start';
  turnId: string;
  sessionId: string;
  resumed: boolean;
}

/** One guard's verdict. The flat fields repeat the verdict's for listeners that only log. */
export interface GuardVerdictEvent extends Base {
  type: 'guard-verdict';
  stage: Stage;
  action: GuardAction;
  guard: string;
  safe: boolean;
  categories: string[];
  /** The guard's P(unsafe) or score, where it gives one. */
  score?: number;
  /** Time the loop waited for this guard (near 0 for a verdict served from the run's cache). */
  latencyMs: number;
  /** Set when the guard threw, timed out or answered nonsense; `verdict.reason` says why. */
  failure?: Verdict['failure'];
  verdict: Verdict;
  toolCallId?: string;
}

export interface BlockedEvent extends Base {
  type: 'blocked';
  stage: Stage;
  verdict: Verdict;
  /** For input/output: the refusal returned instead. For tool stages: what the model sees. */
  replacement: string;
  toolCallId?: string;
}

/** Released text only: it passed every output guard. */
export interface TextDeltaEvent extends Base {
  type: 'text-delta';
  text: string;
  step: number;
}

export interface ToolCallEvent extends Base {
  type: 'tool-call';
  toolCallId: string;
  name: string;
  arguments: unknown;
  /** False when the call failed validation (its error follows as a tool-result). */
  valid: boolean;
  step: number;
}

export interface ToolResultEvent extends Base {
  type: 'tool-result';
  toolCallId: string;
  name: string;
  /** What the model sees (a notice when a guard withheld the real result). */
  content: string;
  isError: boolean;
  code?: ToolErrorCode;
  flagged: boolean;
}

export interface ApprovalRequestedEvent extends Base {
  type: 'approval-requested';
  toolCallId: string;
  name: string;
  arguments: unknown;
  state: RunState;
}

export interface TurnEndEvent extends Base {
  type: 'turn-end';
  result: AgentResult;
}

export interface ErrorEvent extends Base {
  type: 'error';
  error: Error & { code?: string };
}

export type AgentEvent =
  | TurnStartEvent
  | GuardVerdictEvent
  | BlockedEvent
  | TextDeltaEvent
  | ToolCallEvent
  | ToolResultEvent
  | ApprovalRequestedEvent
  | TurnEndEvent
  | ErrorEvent;

/** The typed event map for agent.on(...). */
export type AgentEventMap = {
  [E in AgentEvent as E['type']]: (event: E) => void;
};
