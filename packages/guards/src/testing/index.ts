// Public test helpers, imported as '@lookout/guards/testing': a generated Prompt Guard-shaped
// classifier directory, so a real PromptGuard can run in tests without downloaded weights.
export { writeTinyClassifier, TINY_SPECIALS, type TinyClassifierSpec } from './tiny-classifier.js';
