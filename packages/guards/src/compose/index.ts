export { composeGuards, type ComposedGuardEntry, type ComposeOptions } from './compose-guards.js';
export { runGuarded, type GuardedRunOptions } from './run-guarded.js';
export { failureVerdict } from './failure-verdict.js';
export { mergeRedactions, applyRedactions } from './redactions.js';
