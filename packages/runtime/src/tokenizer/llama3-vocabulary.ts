/**
 * The real Llama 3 BPE vocabulary and merges, read at runtime from the llama3-tokenizer-js
 * package (MIT), which bakes Meta's tokenizer data into its bundle. Nothing is copied into this
 * repository; the data is decoded once per process and cached.
 */
import llama3Tokenizer from 'llama3-tokenizer-js';
import { LLAMA3_BASE_VOCAB_SIZE } from './special-tokens.js';
import { TokenizerError } from './errors.js';

export interface Llama3Vocabulary {
  /** Byte-level BPE token strings, index = token id, 128000 entries. */
  tokens: readonly string[];
  /** Merges in priority order, HF "left right" form. */
  merges: readonly string[];
}

let cached: Llama3Vocabulary | undefined;

export function loadLlama3Vocabulary(): Llama3Vocabulary {
  if (cached) return cached;
  const source = llama3Tokenizer as unknown as { vocabById?: string[]; merges?: Map<string, number> };
  const byId = source.vocabById;
  const mergeMap = source.merges;
  if (!Array.isArray(byId) || byId.length < LLAMA3_BASE_VOCAB_SIZE || !(mergeMap instanceof Map)) {
    throw new TokenizerError(
      'TOKENIZER_VOCABULARY_UNAVAILABLE',
      `llama3-tokenizer-js did not expose the expected data (vocabById with >= ${LLAMA3_BASE_VOCAB_SIZE} ` +
        'entries and a merges Map); check the installed version (1.2.x is supported)',
    );
  }
  // The package keys merges as "left right" and ranks them in insertion order.
  const ranked = [...mergeMap.entries()].sort((a, b) => a[1] - b[1]).map(([pair]) => pair);
  cached = { tokens: byId.slice(0, LLAMA3_BASE_VOCAB_SIZE), merges: ranked };
  return cached;
}
