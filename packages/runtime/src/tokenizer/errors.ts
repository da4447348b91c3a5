import { LookoutError } from '@lookout/tools/errors';

/** Errors raised by the tokenizer subsystem. Each carries a stable `code` for callers to branch on. */
export type TokenizerErrorCode =
  | 'TOKENIZER_FILES_MISSING'
  | 'TOKENIZER_FILES_INVALID'
  | 'TOKENIZER_UNKNOWN_TOKEN'
  | 'TOKENIZER_UNKNOWN_ID'
  | 'TOKENIZER_NO_IMAGE_TOKEN'
  | 'TOKENIZER_VOCABULARY_UNAVAILABLE'
  | 'TOKENIZER_BAD_SEGMENT';

export class TokenizerError extends LookoutError<TokenizerErrorCode> {}
