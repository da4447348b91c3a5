import type { PromptSegment } from '@lookout/runtime';

const SPECIAL_LOOKALIKE = /<\|([A-Za-z0-9_]+)\|>/g;

/**
 * A served engine receives the prompt as one string and tokenizes it with special tokens enabled,
 * so text typed as "<|eot_id|>" would become the real token there. Before such a prompt leaves
 * the process, special-token look-alikes in untrusted text get a zero-width space after "<"
 * ("<\u200b|eot_id|>"): the classifier still reads the characters, the engine sees no special token.
 */
export function neutraliseSpecialTokens(text: string): string {
  return text.replace(SPECIAL_LOOKALIKE, '<\u200b|$1|>');
}

/** Applies neutraliseSpecialTokens to every content segment; template segments are trusted. */
export function neutraliseContent(segments: PromptSegment[]): PromptSegment[] {
  return segments.map((s) => (s.type === 'content' ? { type: 'content', text: neutraliseSpecialTokens(s.text) } : s));
}
