import type { Stage } from '@lookout/guards';
import type { LanguageModel, SamplingSettings } from '@lookout/runtime';
import type { ToolRunner, z } from '@lookout/tools';
import type { ResolvedGuard } from '../guarding/config.js';
import type { AuditEntry, SessionStore } from '../sessions/types.js';
import type { AgentEvent } from './events.js';
import type { BlockInfo, RunState } from './types.js';

/** Everything a turn needs from its agent, already resolved to defaults. */
export interface TurnSettings {
  model: LanguageModel;
  guards: Record<Stage, ResolvedGuard[]>;
  /** Size of each run's verdict cache; 0 turns it off. */
  verdictCacheEntries: number;
  system?: string;
  maxSteps: number;
  outputChunkChars: number;
  outputOverlapChars: number;
  outputHoldbackChars: number;
  /** Tool calls of one model step run at once, at most this many. */
  maxParallelToolCalls: number;
  sampling?: SamplingSettings;
  inputGuardMode: 'parallel' | 'sequential';
  refusal: (info: BlockInfo) => string;
  toolResultNotice: (info: BlockInfo & { tool: string }) => string;
  sessions: SessionStore;
  /** Final answers failing the output schema re-asked per run. */
  outputRetryBudget: number;
}

/** What one call of run/resume/recover hands the turn. */
export interface TurnRun {
  runner: ToolRunner;
  context: unknown;
  signal?: AbortSignal;
  /** True when continuing a paused or checkpointed run: no turn-start input check, pending calls first. */
  resumed: boolean;
  /** The session version the turn was built on; its record is appended against it (one writer per session). */
  sessionVersion?: number;
  emit: (event: AgentEvent) => void;
  /** The run's output schema (RunOptions.output). */
  output?: z.ZodType;
  /** Durable record of the run state around tool executions (RunOptions.checkpoint). */
  checkpoint?: (state: RunState) => void | Promise<void>;
}

/** An agent event before the turn stamps its run id on it. */
export type TurnEvent = AgentEvent extends infer E ? (E extends AgentEvent ? Omit<E, 'runId'> : never) : never;

/** What the parts of a turn (model step, tool step, guard stage, endings) share. */
export interface TurnScope {
  readonly settings: TurnSettings;
  readonly run: TurnRun;
  readonly state: RunState;
  emit(event: TurnEvent): void;
  audit(entry: AuditEntry): void;
}
