export { TokenizerError, type TokenizerErrorCode } from './errors.js';
export * from './specialTokens.js';
export {
  buildLlama3TokenizerFiles,
  llama32VisionChatTemplate,
  LLAMA3_SPLIT_PATTERN,
  type BuildLlama3TokenizerOptions,
  type Llama3TokenizerFiles,
  type AddedTokenJson,
} from './buildLlama3TokenizerFiles.js';
export {
  LlamaTokenizer,
  type EncodeOptions,
  type EncodeSegmentsOptions,
  type DecodeOptions,
  type LlamaSpecialIds,
} from './llamaTokenizer.js';
export { StreamingDecoder, type StreamingDecoderOptions } from './streamingDecoder.js';
