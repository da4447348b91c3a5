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

/**
 * Escapes texts that the engine will concatenate (adjacent text parts of one message, which Llama
 * 3.2's template writes one after the other; adjacent raw-prompt content segments). A look-alike
 * split across pieces ("<|eot", "_id|>") would form again on the engine, so matches are found in
 * the joined text and the zero-width space goes into the piece holding the "<". The pieces keep
 * their number and order; with no look-alike in the joined text they come back unchanged.
 */
export function escapeSpecialTokensAcross(texts: readonly string[]): string[] {
  if (texts.length === 1) return [escapeSpecialTokens(texts[0])];
  const joined = texts.join('');
  if (!joined.includes('<|')) return [...texts];
  const inserts: number[][] = texts.map(() => []);
  let piece = 0;
  let pieceStart = 0;
  for (const match of joined.matchAll(SPECIAL_TOKEN_LOOKALIKE)) {
    // Walk to the piece that holds this match's "<" (matches come in order).
    while (match.index >= pieceStart + texts[piece].length) pieceStart += texts[piece++].length;
    inserts[piece].push(match.index + 1 - pieceStart);
  }
  return texts.map((text, i) => {
    if (!inserts[i].length) return text;
    let out = '';
    let from = 0;
    for (const at of inserts[i]) {
      out += text.slice(from, at) + SPECIAL_TOKEN_BREAK;
      from = at;
    }
    return out + text.slice(from);
  });
}

/**
 * Escapes the texts of a sequence of pieces, where `undefined` marks a piece that is not text
 * (an image, a template segment): each run of adjacent texts together (escapeSpecialTokensAcross),
 * as the engine will concatenate them. Pieces keep their places; non-texts stay undefined.
 */
export function escapeTextRuns(texts: ReadonlyArray<string | undefined>): Array<string | undefined> {
  const out = [...texts];
  for (let i = 0; i < out.length; ) {
    if (out[i] === undefined) {
      i++;
      continue;
    }
    let end = i;
    while (end < out.length && out[end] !== undefined) end++;
    escapeSpecialTokensAcross(out.slice(i, end) as string[]).forEach((text, k) => (out[i + k] = text));
    i = end;
  }
  return out;
}

/**
 * Escapes the untrusted `content` segments of a raw prompt, runs of adjacent ones together (see
 * escapeTextRuns); `template` and `image` segments are kept as they are.
 */
export function escapePromptContent(segments: PromptSegment[]): PromptSegment[] {
  const texts = escapeTextRuns(segments.map((s) => (s.type === 'content' ? s.text : undefined)));
  return segments.map((s, i) => (s.type === 'content' ? { type: 'content', text: texts[i] as string } : s));
}
