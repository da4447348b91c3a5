/**
 * Undoes whitespace tricks that make a classifier's tokenizer miss words, following Meta's advice
 * for Prompt Guard (remove whitespace inserted between characters):
 * - invisible characters (zero-width spaces/joiners, word joiner, BOM, soft hyphen) are removed;
 * - runs of at least three single characters separated by single whitespace ("i g n o r e")
 *   are joined; a wider gap between such runs stays as one space (word boundary);
 * - every other whitespace run becomes one space.
 * The guard scores both the original and this form and keeps the higher score.
 */
const INVISIBLE = /[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]/g;
const SPACED_RUN = /(?<![^\s])(?:[^\s](?:[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000])){2,}[^\s](?![^\s])/gu;

export function deobfuscateWhitespace(text: string): string {
  return text
    .replace(INVISIBLE, '')
    .replace(SPACED_RUN, (run) => run.replace(/\s/g, ''))
    .replace(/\s+/g, ' ')
    .trim();
}
