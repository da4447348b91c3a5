import { FieldReader } from './json-reader.js';
import type { ModelConfig } from './model-config.js';

/** generation_config.json, normalised; sampling defaults are transformers' when a field is absent. */
export interface GenerationConfig {
  /** Where the values came from: the file, or config.json when the file is absent. */
  source: 'generation_config.json' | 'config.json';
  bosTokenId?: number;
  /** As written: one id or several. */
  eosTokenId?: number | number[];
  /** The same, always a list (empty when none is set). */
  eosTokenIds: number[];
  padTokenId?: number;
  doSample: boolean;
  temperature: number;
  topP: number;
  topK: number;
  repetitionPenalty: number;
  maxNewTokens?: number;
  maxLength?: number;
}

export function parseGenerationConfig(json: unknown, file = 'generation_config.json'): GenerationConfig {
  const r = FieldReader.root(file, json);
  const eosTokenId = r.optionalIdOrIds('eos_token_id');
  return {
    source: 'generation_config.json',
    bosTokenId: r.optionalInt('bos_token_id', { min: 0 }),
    eosTokenId,
    eosTokenIds: eosTokenId === undefined ? [] : Array.isArray(eosTokenId) ? [...eosTokenId] : [eosTokenId],
    // Some checkpoints write pad_token_id as a list; the first entry is the one used.
    padTokenId: firstId(r.optionalIdOrIds('pad_token_id')),
    doSample: r.bool('do_sample', false),
    temperature: r.num('temperature', { min: 0, default: 1 }),
    topP: r.num('top_p', { min: 0, default: 1 }),
    topK: r.int('top_k', { min: 0, default: 50 }),
    repetitionPenalty: r.num('repetition_penalty', { positive: true, default: 1 }),
    maxNewTokens: r.optionalInt('max_new_tokens', { positive: true }),
    maxLength: r.optionalInt('max_length', { positive: true }),
  };
}

/** What generation uses when a directory has no generation_config.json: the model config's ids. */
export function generationConfigFromModel(config: ModelConfig): GenerationConfig {
  const t = config.text;
  const eos = t.eosTokenId;
  return {
    source: 'config.json',
    bosTokenId: t.bosTokenId,
    eosTokenId: eos,
    eosTokenIds: eos === undefined ? [] : Array.isArray(eos) ? [...eos] : [eos],
    padTokenId: t.padTokenId,
    doSample: false,
    temperature: 1,
    topP: 1,
    topK: 50,
    repetitionPenalty: 1,
  };
}

function firstId(v: number | number[] | undefined): number | undefined {
  return Array.isArray(v) ? v[0] : v;
}
