import type { PromptSegment } from '../model/types.js';

/**
 * Llama 3's special tokens are written "<|name|>" with a lower-case/digit/underscore name
 * (<|begin_of_text|>, <|eot_id|>, <|start_header_id|>, <|python_tag|>, <|image|>,
 * <|reserved_special_token_7|> …). Upper case is accepted too so a mixed-case look-alike cannot
 * slip past a tokenizer that adds such tokens. Plain "<|" or "a <| b |> c" are not special syntax
 * and stay untouched.
 */
const SPECIAL_TOKEN_LOOKALIKE = /<\|([A-Za-z0-9_]+)\|>/g;

/** Inserted after "<": the text still reads the same, the engine's tokenizer no longer matches a special token. */
export const SPECIAL_TOKEN_BREAK = '\u200b';

/** True when `text` holds at least one "<|name|>" sequence. */
export function hasSpecialTokenLookalike(text: string): boolean {
  SPECIAL_TOKEN_LOOKALIKE.lastIndex = 0;
  return SPECIAL_TOKEN_LOOKALIKE.test(text);
}

/**
 * Served engines render the chat template and tokenize the result with special tokens parsed, so
 * text typed as "<|eot_id|>" would become the real token there. This inserts a zero-width space
 * after "<" ("<\u200b|eot_id|>"). Text without such sequences comes back identical (same string),
 * and escaped text is not escaped again: the function is idempotent.
 */
export function escapeSpecialTokens(text: string): string {
  if (!text.includes('<|')) return text;
  return text.replace(SPECIAL_TOKEN_LOOKALIKE, `<${SPECIAL_TOKEN_BREAK}|$1|>`);
}

/** Escapes the untrusted `content` segments of a raw prompt; `template` and `image` segments are kept as they are. */
export function escapePromptContent(segments: PromptSegment[]): PromptSegment[] {
  return segments.map((s) => (s.type === 'content' ? { type: 'content', text: escapeSpecialTokens(s.text) } : s));
}
