export * from './config.js';
export { runStage, type LoopVerdict, type StageDecision, type StageOutcome, type RunStageOptions } from './run-stage.js';
export { combineRedactions } from './redaction.js';
