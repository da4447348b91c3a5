import { FieldReader, isObject } from './json-reader.js';

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

/** tokenizer_config.json, normalised. */
export interface TokenizerConfig {
  /** The default chat template (the one named "default" when the file lists several). */
  chatTemplate?: string;
  /** Every named template; a single string template is stored as "default". */
  chatTemplates: Record<string, string>;
  bosToken?: string;
  eosToken?: string;
  padToken?: string;
  /** From added_tokens_decoder, sorted by id. */
  addedTokens: AddedToken[];
  modelMaxLength?: number;
  tokenizerClass?: string;
  raw: Record<string, unknown>;
}

export function parseTokenizerConfig(json: unknown, file = 'tokenizer_config.json'): TokenizerConfig {
  const r = FieldReader.root(file, json);
  const chatTemplates = parseChatTemplates(r);
  return {
    chatTemplate: chatTemplates.default,
    chatTemplates,
    bosToken: tokenContent(r, 'bos_token'),
    eosToken: tokenContent(r, 'eos_token'),
    padToken: tokenContent(r, 'pad_token'),
    addedTokens: parseAddedTokens(r),
    // Tokenizers without a limit store a huge float here (1e30); treat that as "none".
    modelMaxLength: r.has('model_max_length') && Number.isSafeInteger(r.raw('model_max_length')) ? r.int('model_max_length') : undefined,
    tokenizerClass: r.optionalStr('tokenizer_class'),
    raw: json as Record<string, unknown>,
  };
}

/** chat_template is either one string or a list of {name, template}. */
function parseChatTemplates(r: FieldReader): Record<string, string> {
  if (!r.has('chat_template')) return {};
  const v = r.raw('chat_template');
  if (typeof v === 'string') return { default: v };
  const list = Array.isArray(v) ? v : [];
  const ok = Array.isArray(v) && list.every((t) => isObject(t) && typeof t.name === 'string' && typeof t.template === 'string');
  if (!ok) r.fail('chat_template', 'a template string or a list of {name, template}', v);
  const out: Record<string, string> = {};
  for (const t of list as Array<{ name: string; template: string }>) out[t.name] = t.template;
  return out;
}

/** Special tokens are written as a string or as an AddedToken object with `content`. */
function tokenContent(r: FieldReader, key: string): string | undefined {
  if (!r.has(key)) return undefined;
  const v = r.raw(key);
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  r.fail(key, 'a token string or {content: string}', v);
}

function parseAddedTokens(r: FieldReader): AddedToken[] {
  if (!r.has('added_tokens_decoder')) return [];
  const dec = r.child('added_tokens_decoder');
  const out: AddedToken[] = [];
  for (const key of Object.keys(r.raw('added_tokens_decoder') as Record<string, unknown>)) {
    const id = Number(key);
    if (!/^\d+$/.test(key) || !Number.isSafeInteger(id)) dec.fail(key, 'keyed by a token id', key);
    const e = dec.child(key);
    out.push({ id, content: e.str('content'), special: e.bool('special', false) });
  }
  return out.sort((a, b) => a.id - b.id);
}
