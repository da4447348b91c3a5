/**
 * What generation needs from a tokenizer: turning ids back into text. The runtime's
 * LlamaTokenizer (tokenizer/) satisfies it; tests use a byte table.
 */
export interface TokenDecoder {
  /** Text of the ids; an incomplete UTF-8 sequence at the end decodes to U+FFFD. */
  decode(ids: readonly number[], options?: { skipSpecial?: boolean }): string;
}
