// Constrained decoding end to end on a tiny randomly initialised Llama checkpoint: whatever the
// random weights prefer, the reply is valid JSON of the schema (greedy and sampled, several
// seeds), a forced tool call is a call of that tool with valid arguments, and a budget too small
// for the value ends with 'length'.
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { UnsupportedSchemaError } from '../constraints/errors.js';
import type { ModelEvent, ModelRequest, ToolSpec } from '../model/types.js';
import { useTinyOnnxModel } from '../testing/index.js';
import { generate } from './generate.js';
import { compileConstraint } from '../constraints/request-grammar.js';
import { LlamaTokenizer } from '../tokenizer/index.js';

const ORDER = {
  type: 'object',
  properties: {
    customer: { type: 'string' },
    priority: { enum: ['low', 'normal', 'urgent'] },
    items: {
      type: 'array',
      items: { type: 'object', properties: { sku: { type: 'string' }, qty: { type: 'integer' } }, required: ['sku', 'qty'], additionalProperties: false },
    },
    address: {
      type: ['object', 'null'],
      properties: { street: { type: 'string' }, zip: { type: 'string' }, verified: { type: 'boolean' } },
      required: ['street', 'zip', 'verified'],
      additionalProperties: false,
    },
    total: { type: 'number' },
  },
  required: ['customer', 'priority', 'items', 'address', 'total'],
  additionalProperties: false,
};

const TOOLS: ToolSpec[] = [
  {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city', 'unit'] },
  },
  {
    name: 'refund',
    description: 'Refund an order',
    parameters: { type: 'object', properties: { order_id: { type: 'integer' }, reason: { type: 'string' }, partial: { type: 'boolean' } }, required: ['order_id', 'reason'] },
  },
];

const tiny = useTinyOnnxModel({ arch: 'llama', seed: 11 });

async function collect(request: ModelRequest): Promise<{ text: string; events: ModelEvent[]; finish: Extract<ModelEvent, { type: 'finish' }> }> {
  const events: ModelEvent[] = [];
  for await (const e of tiny().stream(request)) events.push(e);
  const text = events.flatMap((e) => (e.type === 'text-delta' ? [e.text] : [])).join('');
  return { text, events, finish: events.at(-1) as Extract<ModelEvent, { type: 'finish' }> };
}

const ask = (extra: Partial<ModelRequest>): ModelRequest => ({ messages: [{ role: 'user', content: 'Place the order.' }], ...extra });

describe('constrained decoding on the tiny checkpoint', () => {
  const validate = new Ajv().compile(ORDER);
  const samplings = [
    { temperature: 0 },
    { temperature: 1, seed: 1 },
    { temperature: 1, seed: 2 },
    { temperature: 0.8, topK: 40, topP: 0.95, seed: 3 },
    { temperature: 1.5, repetitionPenalty: 1.2, seed: 4 },
  ];

  it('json_schema: greedy and sampled replies are valid against the schema', async () => {
    for (const sampling of samplings) {
      const { text, finish } = await collect(ask({ responseFormat: { type: 'json_schema', name: 'order', schema: ORDER }, sampling: { ...sampling, maxTokens: 160 } }));
      const value = JSON.parse(text);
      expect(validate(value), `${JSON.stringify(sampling)}: ${text} ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(finish.reason).toBe('stop');
    }
  }, 120_000);

  it('json_object: any JSON object', async () => {
    for (const seed of [5, 6]) {
      const { text, finish } = await collect(ask({ responseFormat: { type: 'json_object' }, sampling: { temperature: 1, seed, maxTokens: 80 } }));
      const value = JSON.parse(text);
      expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
      expect(finish.reason).toBe('stop');
    }
  }, 60_000);

  it('a named tool choice gives a call of that tool with arguments valid against its schema', async () => {
    const validate = new Ajv().compile(TOOLS[1].parameters);
    for (const sampling of [{ temperature: 0 }, { temperature: 1, seed: 9 }]) {
      const { events, finish } = await collect(ask({ tools: TOOLS, toolChoice: { name: 'refund' }, sampling: { ...sampling, maxTokens: 80 } }));
      const calls = events.flatMap((e) => (e.type === 'tool-call' ? [e.call] : []));
      expect(calls).toHaveLength(1);
      expect(calls[0].name).toBe('refund');
      expect(validate(calls[0].arguments), JSON.stringify(calls[0].arguments)).toBe(true);
      expect(finish.reason).toBe('tool-calls');
    }
  }, 60_000);

  it('toolChoice required gives a call of one of the tools', async () => {
    for (const seed of [1, 2, 3]) {
      const { events } = await collect(ask({ tools: TOOLS, toolChoice: 'required', sampling: { temperature: 1, seed, maxTokens: 80 } }));
      const calls = events.flatMap((e) => (e.type === 'tool-call' ? [e.call] : []));
      expect(calls).toHaveLength(1);
      const tool = TOOLS.find((t) => t.name === calls[0].name)!;
      expect(new Ajv().compile(tool.parameters)(calls[0].arguments)).toBe(true);
    }
  }, 60_000);

  it('a budget too small for the value ends with length; a tight one is steered to completion', async () => {
    const cut = await collect(ask({ responseFormat: { type: 'json_schema', schema: ORDER }, sampling: { temperature: 1, seed: 1, maxTokens: 5 } }));
    expect(cut.finish.reason).toBe('length');
    expect(cut.finish.usage.outputTokens).toBe(5);
    // The shortest valid order is 96 bytes; a budget of 100 tokens must still end complete.
    for (const seed of [1, 2, 3]) {
      const tight = await collect(ask({ responseFormat: { type: 'json_schema', schema: ORDER }, sampling: { temperature: 1, seed, maxTokens: 100 } }));
      expect(validate(JSON.parse(tight.text)), tight.text).toBe(true);
      expect(tight.finish.reason).toBe('stop');
    }
  }, 60_000);

  it('toolChoice none does not offer the tools', async () => {
    const withNone = await tiny().prepare(ask({ tools: TOOLS, toolChoice: 'none' }));
    const without = await tiny().prepare(ask({}));
    expect(withNone.promptTokens).toBe(without.promptTokens);
  });

  it('an unsupported schema fails in prepare with a typed error', async () => {
    const error = await tiny().prepare(ask({ responseFormat: { type: 'json_schema', schema: { type: 'string', format: 'email' } } })).catch((e) => e);
    expect(error).toBeInstanceOf(UnsupportedSchemaError);
    expect(error.code).toBe('CONSTRAINT_UNSUPPORTED_SCHEMA');
    expect(error.keyword).toBe('format');
  });

  it('generate() under a constraint decodes in chunks where it can, one step per token with decodeChunk 1', async () => {
    const tokenizer = await LlamaTokenizer.fromDirectory(tiny.dir());
    const grammar = compileConstraint({ responseFormat: { type: 'json_schema', schema: ORDER } }, tokenizer)!;
    const eos = [tokenizer.specialIds.eot!];
    const inputIds = tokenizer.encode('<|begin_of_text|>Order:', { allowSpecial: true });
    for (const decodeChunk of [16, 1]) {
      const result = await generate(tiny().engine, tokenizer, { inputIds, eosIds: eos, maxTokens: 160, decodeChunk, sampling: { temperature: 1, topK: 40, seed: 8 }, constraint: grammar.start(eos) });
      if (decodeChunk === 1) expect(result.decodeChunks).toBe(0);
      else expect(result.decodeChunks).toBeGreaterThan(0);
      expect(result.finishReason).toBe('eos');
      expect(validate(JSON.parse(result.text)), result.text).toBe(true);
    }
  }, 60_000);
});
