export { LlamaGuard, type LlamaGuardOptions, type GuardTokenizer } from './llama-guard.js';
export {
  LLAMA_GUARD_3_CATEGORIES,
  LLAMA_GUARD_3_8B_CATEGORIES,
  LLAMA_GUARD_VARIANTS,
  defaultCategories,
  resolveCategories,
  parseCategoryCodes,
  type CategorySet,
  type LlamaGuardVariant,
} from './categories.js';
export { toGuardTurns, toolCallText, type GuardTurn, type ConversationOptions } from './conversation.js';
export { buildLlamaGuardPrompt, renderPromptText, type LlamaGuardPromptInput } from './prompt.js';
export { parseLlamaGuardOutput, type ParsedOutput } from './parse.js';
export { unsafeProbability, type TokenStep, type DecisionTokens } from './score.js';
export { pythonStrip } from './python-strip.js';
export { neutraliseSpecialTokens, neutraliseContent } from './neutralise.js';
