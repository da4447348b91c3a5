/**
 * Builds the Hugging Face `tokenizer.json` and `tokenizer_config.json` of a Llama 3 (or, with
 * the image token, Llama 3.2 Vision / Mllama) checkpoint from the real vocabulary. Tiny test
 * checkpoints are written with these so that they tokenize exactly like the real model.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadLlama3Vocabulary } from './llama3-vocabulary.js';
import {
  BEGIN_OF_TEXT,
  END_OF_TURN,
  FINETUNE_RIGHT_PAD,
  MLLAMA_IMAGE_TOKEN,
  MLLAMA_IMAGE_TOKEN_ID,
  llama3SpecialTokens,
  type SpecialTokenEntry,
} from './special-tokens.js';

/** Llama 3's pre-tokenizer split pattern (the tiktoken pattern as HF stores it). */
export const LLAMA3_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const TEMPLATE_FILE = fileURLToPath(new URL('./llama-3.2-vision-chat-template.jinja', import.meta.url));

/** Meta's published chat template of Llama-3.2-11B-Vision-Instruct, shipped with this package. */
export function llama32VisionChatTemplate(): string {
  return readFileSync(TEMPLATE_FILE, 'utf8');
}

export interface BuildLlama3TokenizerOptions {
  /** Add Mllama's `<|image|>` token (id 128256). */
  imageToken: boolean;
  /** eos_token of tokenizer_config.json; the Instruct checkpoints use `<|eot_id|>`. */
  eosToken?: string;
  /** chat_template of tokenizer_config.json; defaults to the Llama 3.2 Vision Instruct template. */
  chatTemplate?: string | null;
}

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export interface Llama3TokenizerFiles {
  /** Contents of tokenizer.json. */
  tokenizerJson: Record<string, unknown>;
  /** Contents of tokenizer_config.json. */
  tokenizerConfig: Record<string, unknown>;
}

function addedToken(entry: SpecialTokenEntry): AddedTokenJson {
  return {
    id: entry.id,
    content: entry.content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  };
}

export function buildLlama3TokenizerFiles(options: BuildLlama3TokenizerOptions): Llama3TokenizerFiles {
  const { tokens, merges } = loadLlama3Vocabulary();
  const specials = llama3SpecialTokens();
  if (options.imageToken) specials.push({ id: MLLAMA_IMAGE_TOKEN_ID, content: MLLAMA_IMAGE_TOKEN });
  const added = specials.map(addedToken);

  const vocab: Record<string, number> = {};
  tokens.forEach((token, id) => {
    vocab[token] = id;
  });

  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: LLAMA3_SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
        {
          type: 'TemplateProcessing',
          single: [
            { SpecialToken: { id: BEGIN_OF_TEXT, type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
          ],
          pair: [
            { SpecialToken: { id: BEGIN_OF_TEXT, type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: BEGIN_OF_TEXT, type_id: 1 } },
            { Sequence: { id: 'B', type_id: 1 } },
          ],
          special_tokens: {
            [BEGIN_OF_TEXT]: { id: BEGIN_OF_TEXT, ids: [128000], tokens: [BEGIN_OF_TEXT] },
          },
        },
      ],
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      // Like tiktoken: a pre-token that is itself in the vocabulary is not split by merges.
      ignore_merges: true,
      vocab,
      merges: [...merges],
    },
  };

  const addedTokensDecoder: Record<string, Omit<AddedTokenJson, 'id'>> = {};
  for (const { id, ...rest } of added) addedTokensDecoder[String(id)] = rest;

  const chatTemplate = options.chatTemplate === undefined ? llama32VisionChatTemplate() : options.chatTemplate;
  const tokenizerConfig: Record<string, unknown> = {
    added_tokens_decoder: addedTokensDecoder,
    bos_token: BEGIN_OF_TEXT,
    eos_token: options.eosToken ?? END_OF_TURN,
    pad_token: FINETUNE_RIGHT_PAD,
    clean_up_tokenization_spaces: true,
    model_input_names: ['input_ids', 'attention_mask'],
    model_max_length: 131072,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
  if (chatTemplate !== null) tokenizerConfig.chat_template = chatTemplate;
  return { tokenizerJson, tokenizerConfig };
}
