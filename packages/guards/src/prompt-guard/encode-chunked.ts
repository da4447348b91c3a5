import type { Tokenizer } from '@huggingface/tokenizers';

/**
 * Encodes long text piece by piece. @huggingface/tokenizers' Unigram path grows faster than
 * linearly with input length (seconds for a few thousand words), so text is cut into pieces of
 * at most `chunkChars`, each cut placed before a single space between two words ("a| b").
 * Metaspace, byte-level and whitespace pre-tokenizers all split there, with the space going to
 * the next word, so the ids equal those of one whole encode; only text with no such gap for
 * `chunkChars` characters is cut hard.
 */
export function encodeChunked(tokenizer: Tokenizer, text: string, chunkChars = 400): number[] {
  const ids: number[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + chunkChars, text.length);
    if (end < text.length) {
      let cut = end;
      while (cut > start + 1 && !isWordGap(text, cut)) cut--;
      if (cut > start + 1) end = cut;
      else if (isHighSurrogate(text.charCodeAt(end - 1))) end--;
    }
    // A loop, not a spread: a spread of a long array into push() overflows the call stack.
    for (const id of tokenizer.encode(text.slice(start, end), { add_special_tokens: false }).ids) ids.push(id);
    start = end;
  }
  return ids;
}

/** A single ASCII space with a non-space character on each side. */
function isWordGap(text: string, i: number): boolean {
  return text[i] === ' ' && i > 0 && i + 1 < text.length && !/\s/.test(text[i - 1]) && !/\s/.test(text[i + 1]);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
