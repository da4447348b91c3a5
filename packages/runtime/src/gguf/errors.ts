import { LookoutError } from '@lookout/tools/errors';

/** Errors of the GGUF writer. Each has a stable `code` for callers to branch on. */
export type GgufErrorCode =
  /** The checkpoint is not a LlamaForCausalLM (Mllama and others have no GGUF mapping here). */
  | 'GGUF_UNSUPPORTED_ARCH'
  /** The requested tensor type is not one the writer produces. */
  | 'GGUF_BAD_TYPE'
  /** A tensor's shape does not fit the type (block types need rows that are a multiple of 32). */
  | 'GGUF_BAD_SHAPE'
  /** A checkpoint tensor the mapping needs is missing. */
  | 'GGUF_MISSING_TENSOR'
  /** tokenizer.json is missing or is not a byte-level BPE tokenizer. */
  | 'GGUF_BAD_TOKENIZER'
  /** A metadata value does not fit its declared type. */
  | 'GGUF_BAD_METADATA';

export class GgufError extends LookoutError<GgufErrorCode> {}
