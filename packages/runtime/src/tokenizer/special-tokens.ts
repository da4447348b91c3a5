/**
 * Llama 3 special tokens: 256 ids after the 128000-token BPE vocabulary, with the names Meta's
 * tokenizer gives them (Llama 3.1+ naming). Mllama adds `<|image|>` right after them.
 */

export const LLAMA3_BASE_VOCAB_SIZE = 128000;
export const LLAMA3_SPECIAL_TOKEN_COUNT = 256;
export const MLLAMA_IMAGE_TOKEN = '<|image|>';
export const MLLAMA_IMAGE_TOKEN_ID = 128256;

/** Named special tokens; every other id in 128000..128255 is a reserved token. */
export const LLAMA3_NAMED_SPECIAL_TOKENS: Readonly<Record<number, string>> = {
  128000: '<|begin_of_text|>',
  128001: '<|end_of_text|>',
  128004: '<|finetune_right_pad_id|>',
  128006: '<|start_header_id|>',
  128007: '<|end_header_id|>',
  128008: '<|eom_id|>',
  128009: '<|eot_id|>',
  128010: '<|python_tag|>',
};

export const BEGIN_OF_TEXT = '<|begin_of_text|>';
export const END_OF_TEXT = '<|end_of_text|>';
export const FINETUNE_RIGHT_PAD = '<|finetune_right_pad_id|>';
export const START_HEADER = '<|start_header_id|>';
export const END_HEADER = '<|end_header_id|>';
export const END_OF_MESSAGE = '<|eom_id|>';
export const END_OF_TURN = '<|eot_id|>';
export const PYTHON_TAG = '<|python_tag|>';

export interface SpecialTokenEntry {
  id: number;
  content: string;
}

/**
 * All 256 Llama 3 special tokens in id order. Reserved tokens are numbered in the order they
 * appear (128002 is reserved_0, 128003 reserved_1, 128005 reserved_2, 128011 reserved_3 ...
 * 128255 reserved_247), as in Meta's tokenizer.
 */
export function llama3SpecialTokens(): SpecialTokenEntry[] {
  const entries: SpecialTokenEntry[] = [];
  let reserved = 0;
  for (let i = 0; i < LLAMA3_SPECIAL_TOKEN_COUNT; i++) {
    const id = LLAMA3_BASE_VOCAB_SIZE + i;
    const named = LLAMA3_NAMED_SPECIAL_TOKENS[id];
    entries.push({ id, content: named ?? `<|reserved_special_token_${reserved++}|>` });
  }
  return entries;
}
