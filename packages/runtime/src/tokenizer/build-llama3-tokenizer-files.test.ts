import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { buildLlama3TokenizerFiles, llama32VisionChatTemplate } from './build-llama3-tokenizer-files.js';
import type { AddedTokenJson } from './build-llama3-tokenizer-files.js';

const REFERENCE_TEMPLATE = '/work/shared/reference/llama-3.2-vision/chat_template.jinja';

describe('buildLlama3TokenizerFiles', () => {
  const { tokenizerJson, tokenizerConfig } = buildLlama3TokenizerFiles({ imageToken: true });
  const added = tokenizerJson.added_tokens as AddedTokenJson[];
  const model = tokenizerJson.model as { vocab: Record<string, number>; merges: string[]; type: string };

  it('carries the 128000-token vocabulary and its merges', () => {
    expect(model.type).toBe('BPE');
    expect(Object.keys(model.vocab)).toHaveLength(128000);
    expect(model.vocab['Hello']).toBe(9906);
    expect(model.vocab['Ġworld']).toBe(1917);
    expect(model.merges.length).toBeGreaterThan(280000);
    expect(model.merges[0]).toBe('Ġ Ġ');
  });

  it('names the 256 special tokens with their real ids, plus <|image|> for Mllama', () => {
    expect(added).toHaveLength(257);
    const byId = new Map(added.map((t) => [t.id, t.content]));
    expect(byId.get(128000)).toBe('<|begin_of_text|>');
    expect(byId.get(128001)).toBe('<|end_of_text|>');
    expect(byId.get(128002)).toBe('<|reserved_special_token_0|>');
    expect(byId.get(128003)).toBe('<|reserved_special_token_1|>');
    expect(byId.get(128004)).toBe('<|finetune_right_pad_id|>');
    expect(byId.get(128005)).toBe('<|reserved_special_token_2|>');
    expect(byId.get(128006)).toBe('<|start_header_id|>');
    expect(byId.get(128007)).toBe('<|end_header_id|>');
    expect(byId.get(128008)).toBe('<|eom_id|>');
    expect(byId.get(128009)).toBe('<|eot_id|>');
    expect(byId.get(128010)).toBe('<|python_tag|>');
    expect(byId.get(128011)).toBe('<|reserved_special_token_3|>');
    expect(byId.get(128255)).toBe('<|reserved_special_token_247|>');
    expect(byId.get(128256)).toBe('<|image|>');
    expect(added.every((t) => t.special && !t.normalized && !t.lstrip && !t.rstrip)).toBe(true);
  });

  it('leaves <|image|> out for text-only Llama 3', () => {
    const text = buildLlama3TokenizerFiles({ imageToken: false });
    const contents = (text.tokenizerJson.added_tokens as AddedTokenJson[]).map((t) => t.content);
    expect(contents).toHaveLength(256);
    expect(contents).not.toContain('<|image|>');
    expect(Object.keys(text.tokenizerConfig.added_tokens_decoder as object)).toHaveLength(256);
  });

  it('writes the Llama 3 pre-tokenizer, byte-level decoder and BOS post-processor', () => {
    const pre = tokenizerJson.pre_tokenizer as { pretokenizers: Array<Record<string, unknown>> };
    expect(pre.pretokenizers[0]).toMatchObject({ type: 'Split', behavior: 'Isolated' });
    expect((pre.pretokenizers[0]!.pattern as { Regex: string }).Regex).toContain("(?i:'s|'t|'re|'ve|'m|'ll|'d)");
    expect(pre.pretokenizers[1]).toMatchObject({ type: 'ByteLevel', add_prefix_space: false, use_regex: false });
    expect(tokenizerJson.decoder).toMatchObject({ type: 'ByteLevel' });
    expect(JSON.stringify(tokenizerJson.post_processor)).toContain('"ids":[128000]');
  });

  it('fills tokenizer_config with special tokens, added_tokens_decoder and the chat template', () => {
    expect(tokenizerConfig).toMatchObject({
      bos_token: '<|begin_of_text|>',
      eos_token: '<|eot_id|>',
      pad_token: '<|finetune_right_pad_id|>',
    });
    const decoder = tokenizerConfig.added_tokens_decoder as Record<string, { content: string; special: boolean }>;
    expect(decoder['128256']).toMatchObject({ content: '<|image|>', special: true });
    expect(decoder['128009']!.content).toBe('<|eot_id|>');
    expect(tokenizerConfig.chat_template).toBe(llama32VisionChatTemplate());
    expect(tokenizerConfig.chat_template).toContain("{{- '<|image|>' }}");
  });

  it('accepts another eos token and no chat template', () => {
    const base = buildLlama3TokenizerFiles({ imageToken: false, eosToken: '<|end_of_text|>', chatTemplate: null });
    expect(base.tokenizerConfig.eos_token).toBe('<|end_of_text|>');
    expect('chat_template' in base.tokenizerConfig).toBe(false);
  });

  it.skipIf(!existsSync(REFERENCE_TEMPLATE))('ships the published template unchanged', () => {
    expect(llama32VisionChatTemplate()).toBe(readFileSync(REFERENCE_TEMPLATE, 'utf8'));
  });
});
