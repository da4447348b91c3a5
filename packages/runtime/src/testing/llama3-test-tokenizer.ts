/** Test helper: one Llama 3.2 Vision tokenizer per test file (building it takes ~1 s). */
import { buildLlama3TokenizerFiles } from '../tokenizer/build-llama3-tokenizer-files.js';
import { LlamaTokenizer } from '../tokenizer/llama-tokenizer.js';

const cache = new Map<boolean, LlamaTokenizer>();

export function llama3TestTokenizer(imageToken = true): LlamaTokenizer {
  let tokenizer = cache.get(imageToken);
  if (!tokenizer) {
    const files = buildLlama3TokenizerFiles({ imageToken });
    tokenizer = LlamaTokenizer.fromJSON(files.tokenizerJson, files.tokenizerConfig);
    cache.set(imageToken, tokenizer);
  }
  return tokenizer;
}
