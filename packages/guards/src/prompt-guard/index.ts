export { PromptGuard, type PromptGuardOptions, type PromptGuardScore, type PromptGuardScores } from './PromptGuard.js';
export { labelScheme, softmax, type LabelScheme } from './labels.js';
export { deobfuscateWhitespace } from './deobfuscate.js';
export { slidingWindows } from './windows.js';
export { ClassifierSession, type ClassifierSessionOptions } from './classifierSession.js';
