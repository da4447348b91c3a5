export { TokenizerError, type TokenizerErrorCode } from './errors.js';
export {
  llama3SpecialTokens,
  LLAMA3_BASE_VOCAB_SIZE,
  LLAMA3_SPECIAL_TOKEN_COUNT,
  MLLAMA_IMAGE_TOKEN,
  MLLAMA_IMAGE_TOKEN_ID,
  LLAMA3_NAMED_SPECIAL_TOKENS,
  BEGIN_OF_TEXT,
  END_OF_TEXT,
  FINETUNE_RIGHT_PAD,
  START_HEADER,
  END_HEADER,
  END_OF_MESSAGE,
  END_OF_TURN,
  PYTHON_TAG,
} from './special-tokens.js';
export type { SpecialTokenEntry } from './special-tokens.js';
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
