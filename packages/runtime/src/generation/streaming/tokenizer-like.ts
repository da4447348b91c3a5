/**
 * What generation needs from a tokenizer: turning ids back into text. The runtime's
 * LlamaTokenizer (tokenizer/) satisfies it; tests use a byte table. The streaming decoder that
 * generate() uses is tokenizer/'s StreamingDecoder, which declares the interface.
 */
export type { TokenDecoder } from '../../tokenizer/streaming-decoder.js';
