// GGUF files (llama.cpp's format) written from a Llama checkpoint: the container, block
// quantisation (Q4_0, Q8_0) and the Llama tensor/tokenizer mapping.
export { GgufError, type GgufErrorCode } from './errors.js';
export { GgufMetadata, writeGguf, GGUF_VERSION, GGUF_ALIGNMENT, type GgufTensor } from './format.js';
export { GGML_TYPES, encodeGgml, decodeGgml, ggmlByteSize, isGgmlType, type GgmlType } from './quantize.js';
export { writeLlamaGguf, permuteForRope, type LlamaGgufOptions, type LlamaGgufResult } from './llama.js';
