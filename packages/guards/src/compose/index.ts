export { composeGuards, type ComposedGuardEntry, type ComposeOptions } from './composeGuards.js';
export { runGuarded, type GuardedRunOptions } from './runGuarded.js';
export { failureVerdict } from './failureVerdict.js';
export { mergeRedactions, applyRedactions } from './redactions.js';
