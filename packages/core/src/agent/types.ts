import type { Stage, Verdict } from '@lookout/guards';
import type { ChatMessage, ContentPart, LanguageModel, SamplingSettings, ToolCall, Usage } from '@lookout/runtime';
import type { AnyTool, ToolCallProgress, ToolErrorCode, z } from '@lookout/tools';
import type { GuardAction, StageGuards } from '../guarding/config.js';
import type { AuditEntry, SessionStore, ToolCallStatus } from '../sessions/types.js';

/** What stopped a turn, handed to a refusal-text function. */
export interface BlockInfo {
  stage: Stage;
  verdict: Verdict;
}

export interface AgentOptions {
  model: LanguageModel;
  tools?: AnyTool[];
  guards?: StageGuards;
  /** System prompt put in front of every request. */
  system?: string;
  /** Model steps per turn (each tool round trip is one). Default 8. */
  maxSteps?: number;
  /** Output is held back and checked every this many characters. Default 200. */
  outputChunkChars?: number;
  /**
   * Characters of already-checked output put in front of each new chunk, so a phrase split at a
   * chunk border is still seen whole. Default 64. The whole reply is checked once more at the end.
   */
  outputOverlapChars?: number;
  /**
   * Characters at the end of checked output kept held after each mid-stream check and released
   * only once the next check (or the final one) passed, so a flagged span of several words that
   * the next chunk completes (a spaced card number) has none of its words released. Spans longer
   * than this can still be partly released before the block. Default: outputOverlapChars.
   */
  outputHoldbackChars?: number;
  /** Text returned when input or output is blocked. */
  refusal?: string | ((info: BlockInfo) => string);
  /** Text the model sees instead of a tool result that a tool-result guard flagged. */
  toolResultNotice?: (info: BlockInfo & { tool: string }) => string;
  /**
   * Identical content (same guard, stage, text, images, tool and conversation) is classified
   * once per run; this bounds that run's verdict cache. Failures are never cached. `false` turns
   * it off. Default `{ maxEntries: 1000 }`.
   */
  verdictCache?: { maxEntries?: number } | false;
  /** Per-guard time limit when a guard entry gives none. Default 10 000 ms. */
  guardTimeoutMs?: number;
  /**
   * The tool calls of one model step are independent and run concurrently, at most this many at
   * once; results still reach the model in call order. 1 runs them one after another. Default 8.
   */
  maxParallelToolCalls?: number;
  /** Invalid tool calls answered per run before it fails with ToolValidationBudgetExceeded. Default 2. */
  toolRetryBudget?: number;
  /**
   * With an `output` schema on the run: final answers that fail it are sent back to the model
   * (with the schema's issues) this many times before the run fails with OutputValidationFailed.
   * Default 2.
   */
  outputRetryBudget?: number;
  /** Default: a MemorySessionStore owned by this agent. */
  sessions?: SessionStore;
  sampling?: SamplingSettings;
  /**
   * 'parallel' (default) starts the first model step while input guards run, releasing nothing
   * until they pass; 'sequential' waits for the guards first. When any input guard entry has
   * action 'redact', the loop waits for the input guards whatever this says, so the model never
   * receives the text before it was redacted.
   */
  inputGuardMode?: 'parallel' | 'sequential';
}

export type AgentInput = string | ContentPart[];

export interface RunOptions<C = unknown> {
  /** Continue this session (created when new). Default: a fresh id. */
  sessionId?: string;
  /** Handed to tools as ctx.context (e.g. the signed-in customer). Not stored. */
  context?: C;
  signal?: AbortSignal;
  /**
   * Called with the run state before every tool execution starts (the call marked as started,
   * with its idempotency key) and again when it returned. Store it durably (where the paused
   * state lives) and a crash leaves a state that `agent.recover()` continues without running
   * any started call twice. A checkpoint that throws stops the run before the tool runs.
   */
  checkpoint?: (state: RunState) => void | Promise<void>;
  /**
   * A zod schema for the final answer: the model answers in JSON, the answer is parsed and
   * validated (`result.output`, typed), and an answer that fails is re-asked within
   * outputRetryBudget. Where the model constrains its decoding and no tools are offered, the
   * schema also constrains the reply token by token (response_format json_schema).
   */
  output?: z.ZodType;
}

/** Approve the paused tool call, or reject it (a string is the reason the model is told). */
export type ApprovalDecision = { approve: true; reject?: undefined } | { approve?: false; reject: true | string };

export type ResumeOptions<C = unknown> = Omit<RunOptions<C>, 'sessionId'> & ApprovalDecision;

export interface PendingApproval {
  toolCallId: string;
  name: string;
  arguments: unknown;
}

/** A finished tool call waiting for the calls before it, so results keep the order of the calls. */
export interface ToolAnswer {
  /** What the model sees. */
  content: string;
  isError: boolean;
  code?: ToolErrorCode;
  /** A tool-result guard replaced or redacted the result. */
  flagged: boolean;
  status: ToolCallStatus;
  latencyMs: number;
  /** As the audit keeps them (null for a call a guard blocked). */
  arguments: unknown;
}

/**
 * A tool call still to be handled in the current step of a paused run: how far it got (see
 * ToolCallProgress: validated, admitted, decided, started, finished) and, once checked, its answer.
 */
export interface PendingCall extends ToolCallProgress {
  call: ToolCall;
  /** Set once the call finished; it joins the conversation after every call before it did. */
  answer?: ToolAnswer;
}

/** A paused run as plain JSON: store it anywhere, hand it to agent.resume() later. */
export interface RunState {
  version: 1;
  runId: string;
  turnId: string;
  sessionId: string;
  startedAt: string;
  /** Conversation without the system prompt: session history followed by this turn's messages. */
  conversation: ChatMessage[];
  /** Index in `conversation` where this turn's messages start. */
  turnStart: number;
  step: number;
  invalidToolCalls: number;
  /** Final answers that failed the run's output schema so far. */
  invalidOutputs?: number;
  pending: PendingCall[];
  releasedText: string;
  audit: AuditEntry[];
  usage: Usage;
}

export type RunStatus = 'completed' | 'blocked' | 'awaiting-approval';

export interface AgentResult {
  status: RunStatus;
  runId: string;
  turnId: string;
  sessionId: string;
  /** Released text (checked by output guards), or the refusal when blocked. */
  text: string;
  /** Messages this turn added to the conversation. */
  messages: ChatMessage[];
  blocked?: BlockInfo;
  pendingApproval?: PendingApproval;
  /** Set when status is 'awaiting-approval'. */
  state?: RunState;
  steps: number;
  usage: Usage;
  audit: AuditEntry[];
  /** The final answer parsed and validated against the run's `output` schema. */
  output?: unknown;
}

export type { GuardAction };
