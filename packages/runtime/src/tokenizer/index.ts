export { TokenizerError, type TokenizerErrorCode } from './errors.js';
export * from './special-tokens.js';
export {
  buildLlama3TokenizerFiles,
  llama32VisionChatTemplate,
  LLAMA3_SPLIT_PATTERN,
  type BuildLlama3TokenizerOptions,
  type Llama3TokenizerFiles,
  type AddedTokenJson,
} from './build-llama3-tokenizer-files.js';
export {
  LlamaTokenizer,
  type EncodeOptions,
  type EncodeSegmentsOptions,
  type DecodeOptions,
  type LlamaSpecialIds,
} from './llama-tokenizer.js';
export { StreamingDecoder, type StreamingDecoderOptions } from './streaming-decoder.js';
