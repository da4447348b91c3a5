import type { ToolResult } from './result.js';
import type { ToolCallRequest } from './types.js';

/**
 * How far one tool call has got, as plain JSON: a paused or crashed run stores it and
 * `ToolRunner.run` continues from the first phase not yet done. The phases, in order:
 * validated (`args` or `rejection`), admitted (`guarded`, `awaitingApproval`), decided
 * (`approval`), started (`execution`), finished (`result`).
 */
export interface ToolCallProgress {
  call: ToolCallRequest;
  /** Validated arguments; absent when the call was rejected (then `rejection` is set). */
  args?: unknown;
  rejection?: ToolResult;
  /** The tool-call check passed. */
  guarded?: boolean;
  /** The approval rule asked for a human decision. */
  awaitingApproval?: boolean;
  approval?: 'approved' | 'rejected';
  rejectReason?: string;
  /**
   * Set, and recorded through `recordExecution`, before `execute` runs. Once set the call is
   * never executed again: recovery asks the tool's `recover` or answers `tool-outcome-unknown`.
   */
  execution?: { idempotencyKey: string; startedAt: string };
  /** What `execute` (or `recover`) returned, before any result check. */
  result?: ToolResult;
}

/** What `ToolRunner.run` made of a call. */
export type ToolRunOutcome =
  /** Bad arguments, an unknown tool or an unparseable call: the model is told why. */
  | { kind: 'invalid'; result: ToolResult }
  /** The call check refused it; `result` is what the model is told. */
  | { kind: 'blocked'; result: ToolResult }
  /** Admitted; `run` was asked to stop before execution. */
  | { kind: 'admitted' }
  | { kind: 'awaiting-approval' }
  | { kind: 'rejected'; result: ToolResult }
  /** Ran (or was found to have run); `recovered` when the result came from a record or `recover`. */
  | { kind: 'executed'; result: ToolResult; recovered: boolean };

/** What the caller plugs into `ToolRunner.run`. */
export interface ToolRunHooks<C> {
  context: C;
  /** The run's signal; aborting it aborts the tool too. */
  signal?: AbortSignal;
  /** Handed to the tool as ctx.idempotencyKey; stable for this call across resume and recovery. */
  idempotencyKey: string;
  /** Checks a validated call (tool-call guards). A result stops the call and is what the model is told. */
  checkCall?(progress: ToolCallProgress): Promise<ToolResult | undefined>;
  /** Makes `progress.execution` durable. Runs before `execute`; if it throws, the tool does not run. */
  recordExecution?(progress: ToolCallProgress): Promise<void>;
  /** Makes `progress.result` durable as soon as the tool returned. */
  recordResult?(progress: ToolCallProgress): Promise<void>;
}
