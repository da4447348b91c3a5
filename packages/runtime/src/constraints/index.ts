// Constrained decoding: JSON Schema (a strict subset), any JSON object and forced tool calls as a
// per-step mask over the vocabulary (docs/structured-output.md).
export { ConstraintError, UnsupportedSchemaError, type ConstraintErrorCode } from './errors.js';
export { compileJsonSchema } from './json-schema.js';
export { CompiledGrammar, TokenConstraint, setMaskCacheBudget, maskCacheBytes, type TokenMask } from './token-constraint.js';
export { VocabularyTrie, vocabularyTrie, isVocabularySource, type VocabularySource } from './vocabulary.js';
export { compileConstraint, grammarNode, isConstrained, offeredTools, type ConstraintSpec } from './request-grammar.js';
