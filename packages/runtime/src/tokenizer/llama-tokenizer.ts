/**
 * Llama 3 / Mllama tokenizer on top of @huggingface/tokenizers, with the one thing a guarded agent
 * needs beyond it: text from users, tools and documents is encoded with special-token recognition
 * switched off, so a typed "<|eot_id|>" stays plain text and cannot end a turn.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { PromptSegment } from '../model/types.js';
import { TokenizerError } from './errors.js';
import { byteLevelTokenToBytes } from './byte-level.js';
import { StreamingDecoder, type StreamingDecoderOptions } from './streaming-decoder.js';
import {
  BEGIN_OF_TEXT,
  END_HEADER,
  END_OF_MESSAGE,
  END_OF_TEXT,
  END_OF_TURN,
  MLLAMA_IMAGE_TOKEN,
  PYTHON_TAG,
  START_HEADER,
} from './special-tokens.js';

export interface EncodeOptions {
  /** true: special-token names in the text become their ids. false: they are encoded as text. */
  allowSpecial: boolean;
  /** Prepend <|begin_of_text|>. Default false (chat templates write it themselves). */
  addBos?: boolean;
}

export interface EncodeSegmentsOptions {
  addBos?: boolean;
}

export interface DecodeOptions {
  /** Leave special tokens out of the text. Default false. */
  skipSpecial?: boolean;
}

export interface LlamaSpecialIds {
  bos: number;
  /** eos_token of tokenizer_config.json (<|eot_id|> for Instruct checkpoints). */
  eos: number;
  pad?: number;
  endOfText?: number;
  eot?: number;
  eom?: number;
  pythonTag?: number;
  startHeader?: number;
  endHeader?: number;
  /** Mllama's <|image|>; absent in text-only Llama 3 tokenizers. */
  image?: number;
  /** Ids generation stops on: <|end_of_text|>, <|eom_id|>, <|eot_id|> (those that exist). */
  stop: readonly number[];
  /** Every id marked special. */
  all: ReadonlySet<number>;
}

interface AddedTokenLike {
  id: number;
  content: string;
  special: boolean;
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Reads a token name out of tokenizer_config (a string or an AddedToken-like object). */
function configTokenName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return undefined;
}

async function readJsonFile(path: string): Promise<JsonObject> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new TokenizerError('TOKENIZER_FILES_MISSING', `cannot read ${path}: a tokenizer directory needs tokenizer.json and tokenizer_config.json`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new TokenizerError('TOKENIZER_FILES_INVALID', `${path} is not valid JSON`, { cause });
  }
  if (!isObject(parsed)) {
    throw new TokenizerError('TOKENIZER_FILES_INVALID', `${path} must hold a JSON object`);
  }
  return parsed;
}

export class LlamaTokenizer {
  readonly specialIds: LlamaSpecialIds;
  /** chat_template from tokenizer_config.json, when present. */
  readonly chatTemplate: string | undefined;
  /** Number of ids, added tokens included (128256, or 128257 with <|image|>). */
  readonly vocabSize: number;

  private readonly hf: Tokenizer;
  private readonly added = new Map<number, AddedTokenLike>();
  private readonly addedByContent = new Map<string, AddedTokenLike>();
  private readonly addedPattern: RegExp | undefined;
  private readonly bytesCache = new Map<number, Uint8Array>();

  private constructor(tokenizerJson: JsonObject, tokenizerConfig: JsonObject) {
    const addedTokens = tokenizerJson.added_tokens;
    if (!isObject(tokenizerJson.model) || !Array.isArray(addedTokens)) {
      throw new TokenizerError('TOKENIZER_FILES_INVALID', 'tokenizer.json must have a "model" object and an "added_tokens" array');
    }
    try {
      this.hf = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (cause) {
      throw new TokenizerError('TOKENIZER_FILES_INVALID', `tokenizer.json was rejected: ${(cause as Error).message}`, { cause });
    }
    for (const raw of addedTokens) {
      if (!isObject(raw) || typeof raw.id !== 'number' || typeof raw.content !== 'string') {
        throw new TokenizerError('TOKENIZER_FILES_INVALID', 'every added_tokens entry needs a numeric "id" and a string "content"');
      }
      const token = { id: raw.id, content: raw.content, special: raw.special === true };
      this.added.set(token.id, token);
      this.addedByContent.set(token.content, token);
    }
    // Longest first, so a token that is a prefix of another never wins.
    const contents = [...this.addedByContent.keys()].sort((a, b) => b.length - a.length);
    this.addedPattern = contents.length ? new RegExp(contents.map(escapeRegExp).join('|'), 'g') : undefined;

    this.chatTemplate = typeof tokenizerConfig.chat_template === 'string' ? tokenizerConfig.chat_template : undefined;
    this.vocabSize = this.hf.get_vocab(true).size;
    this.specialIds = this.resolveSpecialIds(tokenizerConfig);
  }

  /** Loads tokenizer.json and tokenizer_config.json from a model directory. */
  static async fromDirectory(dir: string): Promise<LlamaTokenizer> {
    const [json, config] = await Promise.all([
      readJsonFile(join(dir, 'tokenizer.json')),
      readJsonFile(join(dir, 'tokenizer_config.json')),
    ]);
    return new LlamaTokenizer(json, config);
  }

  static fromJSON(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown>): LlamaTokenizer {
    if (!isObject(tokenizerJson) || !isObject(tokenizerConfig)) {
      throw new TokenizerError('TOKENIZER_FILES_INVALID', 'fromJSON takes the parsed tokenizer.json and tokenizer_config.json objects');
    }
    return new LlamaTokenizer(tokenizerJson, tokenizerConfig);
  }

  private resolveSpecialIds(config: JsonObject): LlamaSpecialIds {
    const idOf = (name: string | undefined) => (name === undefined ? undefined : this.addedByContent.get(name)?.id);
    const bos = idOf(configTokenName(config.bos_token) ?? BEGIN_OF_TEXT);
    const eos = idOf(configTokenName(config.eos_token) ?? END_OF_TURN);
    if (bos === undefined || eos === undefined) {
      throw new TokenizerError(
        'TOKENIZER_FILES_INVALID',
        'tokenizer_config.json bos_token / eos_token must name added tokens of tokenizer.json (e.g. "<|begin_of_text|>", "<|eot_id|>")',
      );
    }
    const endOfText = idOf(END_OF_TEXT);
    const eom = idOf(END_OF_MESSAGE);
    const eot = idOf(END_OF_TURN);
    const stop = [endOfText, eom, eot].filter((id): id is number => id !== undefined);
    if (!stop.includes(eos)) stop.push(eos);
    return {
      bos,
      eos,
      pad: idOf(configTokenName(config.pad_token)),
      endOfText,
      eot,
      eom,
      pythonTag: idOf(PYTHON_TAG),
      startHeader: idOf(START_HEADER),
      endHeader: idOf(END_HEADER),
      image: idOf(MLLAMA_IMAGE_TOKEN),
      stop,
      all: new Set([...this.added.values()].filter((t) => t.special).map((t) => t.id)),
    };
  }

  /** Encodes text. With allowSpecial false every character is ordinary text. */
  encode(text: string, options: EncodeOptions): number[] {
    const ids = options.allowSpecial
      ? text.length === 0
        ? []
        : this.hf.encode(text, { add_special_tokens: false }).ids
      : this.encodePlain(text);
    return options.addBos ? [this.specialIds.bos, ...ids] : ids;
  }

  /**
   * Encodes a prompt built of segments: special tokens are recognised in `template` segments only,
   * `content` is always text, `image` is the <|image|> id. Text is joined across segment borders
   * before BPE, so an honest prompt gets exactly the ids of encoding its whole string.
   */
  encodeSegments(segments: readonly PromptSegment[], options: EncodeSegmentsOptions = {}): number[] {
    const ids: number[] = options.addBos ? [this.specialIds.bos] : [];
    let pending = '';
    const flush = () => {
      // A loop, not push(...): spreading a long prompt's ids into one call overflows the stack.
      if (pending) for (const id of this.encodePlain(pending)) ids.push(id);
      pending = '';
    };
    for (const segment of segments) {
      if (segment.type === 'content') {
        pending += segment.text;
      } else if (segment.type === 'template') {
        let last = 0;
        for (const match of this.findAddedTokens(segment.text)) {
          pending += segment.text.slice(last, match.index);
          flush();
          ids.push(this.addedByContent.get(match[0])!.id);
          last = match.index + match[0].length;
        }
        pending += segment.text.slice(last);
      } else if (segment.type === 'image') {
        flush();
        ids.push(this.imageId());
      } else {
        throw new TokenizerError('TOKENIZER_BAD_SEGMENT', `unknown prompt segment type ${JSON.stringify((segment as { type: unknown }).type)}; accepted: template, content, image`);
      }
    }
    flush();
    return ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (ids.length === 0) return '';
    for (const id of ids) this.checkId(id);
    return this.hf.decode([...ids], { skip_special_tokens: options.skipSpecial ?? false, clean_up_tokenization_spaces: false });
  }

  createStreamingDecoder(options: StreamingDecoderOptions = {}): StreamingDecoder {
    return new StreamingDecoder(this, options);
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  /** The <|image|> id; throws for tokenizers without one. */
  imageId(): number {
    const id = this.specialIds.image;
    if (id === undefined) {
      throw new TokenizerError('TOKENIZER_NO_IMAGE_TOKEN', `this tokenizer has no ${MLLAMA_IMAGE_TOKEN} token; image prompts need a Llama 3.2 Vision (Mllama) tokenizer`);
    }
    return id;
  }

  isSpecial(id: number): boolean {
    return this.specialIds.all.has(id);
  }

  /** @internal Bytes of an ordinary token (undefined for added tokens): the constraints' vocabulary reads them. */
  tokenBytes(id: number): Uint8Array | undefined {
    if (this.added.has(id)) return undefined;
    let bytes = this.bytesCache.get(id);
    if (!bytes) {
      const token = this.checkId(id);
      bytes = byteLevelTokenToBytes(token);
      if (!bytes) {
        throw new TokenizerError('TOKENIZER_FILES_INVALID', `token ${id} (${JSON.stringify(token)}) is not a byte-level token`);
      }
      this.bytesCache.set(id, bytes);
    }
    return bytes;
  }

  private checkId(id: number): string {
    const token = Number.isInteger(id) ? this.hf.id_to_token(id) : undefined;
    if (token === undefined) {
      throw new TokenizerError('TOKENIZER_UNKNOWN_ID', `token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
    }
    return token;
  }

  private findAddedTokens(text: string): IterableIterator<RegExpMatchArray & { index: number }> {
    if (!this.addedPattern) return [][Symbol.iterator]() as IterableIterator<RegExpMatchArray & { index: number }>;
    return text.matchAll(this.addedPattern) as IterableIterator<RegExpMatchArray & { index: number }>;
  }

  /** BPE without added-token matching: normalizer, pre-tokenizer and model of the HF pipeline. */
  private encodePlain(text: string): number[] {
    if (text.length === 0) return [];
    const hf = this.hf;
    const normalized = hf.normalizer ? hf.normalizer(text) : text;
    const pieces = hf.pre_tokenizer ? hf.pre_tokenizer(normalized, { section_index: 0 }) : [normalized];
    const model = hf.model!;
    const tokens: string[] = model(pieces);
    return tokens.map((token) => {
      const id = model.tokens_to_ids.get(token) ?? model.unk_token_id;
      if (id === undefined) {
        throw new TokenizerError('TOKENIZER_UNKNOWN_TOKEN', `the BPE model produced ${JSON.stringify(token)}, which has no id and no unk_token`);
      }
      return id;
    });
  }
}
