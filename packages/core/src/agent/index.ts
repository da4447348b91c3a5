export { Agent } from './agent.js';
export type {
  BlockInfo,
  AgentOptions,
  AgentInput,
  RunOptions,
  ApprovalDecision,
  ResumeOptions,
  PendingApproval,
  ToolAnswer,
  PendingCall,
  RunState,
  RunStatus,
  AgentResult,
  GuardAction,
} from './types.js';
export type {
  TurnStartEvent,
  GuardVerdictEvent,
  BlockedEvent,
  TextDeltaEvent,
  ToolCallEvent,
  ToolResultEvent,
  ApprovalRequestedEvent,
  TurnEndEvent,
  ErrorEvent,
  AgentEvent,
  AgentEventMap,
} from './events.js';
