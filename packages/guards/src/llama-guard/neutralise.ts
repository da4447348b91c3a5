import { escapePromptContent, escapeSpecialTokens, type LanguageModel } from '@lookout/runtime';

/**
 * Llama Guard sends its prompt to served engines as one string, tokenized there with special
 * tokens parsed. The escaping itself is the runtime's (escapeSpecialTokens: a zero-width space
 * after "<" in "<|name|>" forms); these names stay for callers of the guards package.
 */
export const neutraliseSpecialTokens: (text: string) => string = escapeSpecialTokens;
export const neutraliseContent = escapePromptContent;

/**
 * Whether the guard must escape untrusted text itself before handing it to `model`: only for a
 * served model that does not already do it on the wire (OpenAICompatibleModel does by default and
 * says so in `escapesSpecialTokens`). Either way text is escaped once: the escaping is idempotent.
 */
export function guardEscapesText(model: LanguageModel, served: boolean): boolean {
  if (!served) return false;
  return (model as { escapesSpecialTokens?: unknown }).escapesSpecialTokens !== true;
}
