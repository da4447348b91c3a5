export { PromptGuard, type PromptGuardOptions, type PromptGuardScore, type PromptGuardScores } from './prompt-guard.js';
export { labelScheme, softmax, type LabelScheme } from './labels.js';
export { deobfuscateWhitespace } from './deobfuscate.js';
export { slidingWindows } from './windows.js';
export { ClassifierSession, type ClassifierSessionOptions } from './classifier-session.js';
