import type { Stage } from '@lookout/guards';
import type { ChatMessage } from '@lookout/runtime';
import type { GuardAction } from '../guarding/config.js';

/** One guard verdict as the audit log keeps it. */
export interface VerdictAuditEntry {
  kind: 'verdict';
  /** ISO time the verdict arrived. */
  time: string;
  runId: string;
  stage: Stage;
  guard: string;
  safe: boolean;
  categories: string[];
  score?: number;
  latencyMs: number;
  action: GuardAction;
  /** Set when the guard gave no real classification: it threw, timed out or answered nonsense. */
  failure?: 'error' | 'timeout' | 'unparseable';
  /** For failures: what went wrong (e.g. `Guard "llama-guard" did not answer within 2000 ms.`), never quoting the checked text. */
  reason?: string;
  toolCallId?: string;
}

/**
 * What became of a tool call. 'not-run': the turn failed before the call was executed (it will
 * not be); a call that was started and then interrupted is 'error' with code tool-outcome-unknown.
 */
export type ToolCallStatus = 'ok' | 'error' | 'invalid' | 'blocked' | 'rejected' | 'not-run';

/** One tool call as the audit log keeps it, whatever became of it. */
export interface ToolCallAuditEntry {
  kind: 'tool-call';
  time: string;
  runId: string;
  toolCallId: string;
  tool: string;
  arguments: unknown;
  status: ToolCallStatus;
  code?: string;
  latencyMs: number;
  /** The tool result was replaced or redacted by a tool-result guard. */
  flagged?: boolean;
}

export type AuditEntry = VerdictAuditEntry | ToolCallAuditEntry;

export type TurnStatus = 'completed' | 'blocked' | 'error';

/** Everything one finished turn adds to a session. Written once, when the turn ends. */
export interface TurnRecord {
  turnId: string;
  runId: string;
  startedAt: string;
  endedAt: string;
  status: TurnStatus;
  /** Messages this turn adds to the conversation (user, assistant, tool). Images as data: URLs. */
  messages: ChatMessage[];
  audit: AuditEntry[];
  /**
   * Why a turn with status 'error' failed (the error's code and message). An error turn keeps
   * its messages when a tool was executed in it (so the record of the effect is never lost) or
   * when it continued a paused run.
   */
  error?: { code: string; message: string };
}

export interface SessionSnapshot {
  sessionId: string;
  turns: TurnRecord[];
  /**
   * The session's version: the number of turns stored (0 for a new session). Append the next
   * turn with `{ expectedVersion: version }` and it is written only if nobody appended since.
   */
  version: number;
  /** Lines that could not be read back (a write torn by a crash); they are skipped. */
  skippedLines: number;
}

export interface AppendTurnOptions {
  /**
   * Append only if the session is still at this version (the `version` of the snapshot the turn
   * was built on); otherwise nothing is written and appendTurn rejects with
   * SessionConflictError (`session-conflict`). Left out, the turn is appended unconditionally.
   */
  expectedVersion?: number;
}

/**
 * Where sessions live. Implementations must keep every appended turn readable after a crash,
 * write a turn whole or not at all, and keep one writer per session: of two appends against the
 * same expectedVersion, exactly one succeeds and the other gets SessionConflictError.
 */
export interface SessionStore {
  load(sessionId: string): Promise<SessionSnapshot>;
  appendTurn(sessionId: string, turn: TurnRecord, options?: AppendTurnOptions): Promise<void>;
}

/** The conversation a session continues with: messages of its turns, in order. */
export function sessionMessages(snapshot: SessionSnapshot): ChatMessage[] {
  return snapshot.turns.flatMap((t) => t.messages);
}

export function sessionAudit(snapshot: SessionSnapshot): AuditEntry[] {
  return snapshot.turns.flatMap((t) => t.audit);
}
