export { resolveGuards, STAGE_KEYS } from './config.js';
export type { GuardAction, GuardEntry, GuardSetting, StageGuards, ResolvedGuard } from './config.js';
export { runStage, type LoopVerdict, type StageDecision, type StageOutcome, type RunStageOptions } from './run-stage.js';
export { combineRedactions } from './redaction.js';
export { withRunCache } from './run-cache.js';
export { scrubbedReason } from './failure-reason.js';
export { verdictProblem } from './verdict-shape.js';
