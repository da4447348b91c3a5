// The JSON-Schema subset, the byte automaton and the token masks, without a model: every byte
// string the automaton accepts is a prefix of valid JSON, `dist` is the true shortest
// completion, and unsupported schemas fail with a typed error that names the keyword.
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { buildLlama3TokenizerFiles, LlamaTokenizer } from '../tokenizer/index.js';
import { accepting, dist, feed, initialState, type Stack } from './automaton.js';
import { ConstraintError, UnsupportedSchemaError } from './errors.js';
import { compileJsonSchema } from './json-schema.js';
import { bytesOf } from './nodes.js';
import { compileConstraint, grammarNode } from './request-grammar.js';
import { CompiledGrammar, maskCacheBytes, setMaskCacheBudget } from './token-constraint.js';

const WEATHER = {
  type: 'object',
  properties: {
    city: { type: 'string', description: 'City name' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer' },
    detail: { type: ['object', 'null'], properties: { wind: { type: 'boolean' }, level: { const: 2 } }, required: ['wind'], additionalProperties: false },
    tags: { type: 'array', items: { type: 'string' } },
    ratio: { type: 'number' },
  },
  required: ['city', 'unit', 'days', 'detail'],
  additionalProperties: false,
};

function run(schema: unknown, text: string): Stack | null {
  let s: Stack | null = initialState(compileJsonSchema(schema));
  for (const b of bytesOf(text)) {
    if (!s) return null;
    s = feed(s, b);
  }
  return s;
}

const accepts = (schema: unknown, text: string) => {
  const s = run(schema, text);
  return s !== null && accepting(s);
};

describe('the byte automaton', () => {
  it('accepts valid values of the schema, with escapes and at most one space after : and ,', () => {
    expect(accepts(WEATHER, '{"city":"Paris \\"14\\" \\u00e9 é","unit":"celsius","days":3,"detail":null}')).toBe(true);
    expect(accepts(WEATHER, '{"detail": {"level": 2, "wind": true}, "days": -0, "unit": "fahrenheit", "city": "", "tags": ["a", "b"], "ratio": -1.5e+3}')).toBe(true);
    expect(accepts({ type: 'array', items: { type: 'number' } }, '[1,2.5,-3e2]')).toBe(true);
    expect(accepts({ enum: ['a', 1, null, true] }, '1')).toBe(true);
  });

  it('refuses what the schema does not allow', () => {
    const bad = [
      '{"city":"x","unit":"kelvin","days":3,"detail":null}', // enum
      '{"city":"x","unit":"celsius","days":3.5,"detail":null}', // integer
      '{"city":"x","unit":"celsius","days":3}', // required detail
      '{"city":"x","city":"y"}', // twice
      '{"town":"x"}', // not a property
      '{"city":"a\nb"}', // raw control character
      '{"city":"x",  "unit"', // two spaces
      '{"city":"x","unit":"celsius","days":01,"detail":null}', // leading zero
      '{"city":"x","unit":"celsius","days":3,"detail":null} ', // trailing text
    ];
    for (const text of bad) expect(accepts(WEATHER, text), text).toBe(false);
  });

  it('dist is the shortest completion, reachable byte by byte', () => {
    const prefixes = ['', '{', '{"ci', '{"city":"x', '{"city":"x","unit":"c', '{"city":"x","unit":"celsius","days":3,"detail":{', '{"detail":null,"tags":[', '{"city":"\\u00'];
    const node = compileJsonSchema(WEATHER);
    const bytes = [...Array(256).keys()];
    for (const prefix of prefixes) {
      let s = run(WEATHER, prefix)!;
      expect(s, prefix).not.toBeNull();
      let steps = 0;
      const start = dist(s);
      // Greedy: always take a byte that lowers dist by exactly one.
      while (!accepting(s)) {
        const d = dist(s);
        const next = bytes.map((b) => feed(s, b)).find((n) => n !== null && dist(n) === d - 1);
        expect(next, `${prefix}: no byte lowers dist ${d}`).toBeDefined();
        s = next!;
        steps++;
      }
      expect(steps).toBe(start);
      void node;
    }
  });

  it('json_object admits any object and nothing else', () => {
    const node = grammarNode({ responseFormat: { type: 'json_object' } })!;
    const ok = (text: string) => {
      let s: Stack | null = initialState(node);
      for (const b of bytesOf(text)) s = s && feed(s, b);
      return s !== null && accepting(s);
    };
    expect(ok('{"a":[1,{"b":null}],"c":"d"}')).toBe(true);
    expect(ok('{}')).toBe(true);
    expect(ok('[1]')).toBe(false);
    expect(ok('"x"')).toBe(false);
  });
});

describe('the JSON-Schema subset', () => {
  it('names the unsupported keyword and where it is', () => {
    const cases: [unknown, string, string][] = [
      [{ type: 'string', pattern: '^a' }, 'pattern', '#'],
      [{ type: 'object', properties: { a: { type: 'string', minLength: 2 } } }, 'minLength', '#/properties/a'],
      [{ type: 'object', properties: { a: { $ref: '#/$defs/x' } } }, '$ref', '#/properties/a'],
      [{ anyOf: [{ type: 'string' }, { enum: ['x'] }] }, 'anyOf', '#'],
      [{ type: 'object', additionalProperties: { type: 'string' } }, 'additionalProperties', '#'],
      [{ type: 'integer', minimum: 0 }, 'minimum', '#'],
      [{ type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: 100 }, 'maximum', '#'],
      [{ type: 'number', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }, 'minimum', '#'],
    ];
    for (const [schema, keyword, path] of cases) {
      let error: unknown;
      try {
        compileJsonSchema(schema);
      } catch (e) {
        error = e;
      }
      expect(error, keyword).toBeInstanceOf(UnsupportedSchemaError);
      expect((error as UnsupportedSchemaError).code).toBe('CONSTRAINT_UNSUPPORTED_SCHEMA');
      expect((error as UnsupportedSchemaError).keyword).toBe(keyword);
      expect((error as UnsupportedSchemaError).path).toBe(path);
      expect((error as Error).message).toContain(`"${keyword}"`);
    }
  });

  it('refuses malformed constraints with CONSTRAINT_INVALID', () => {
    expect(() => compileJsonSchema({ type: 'object', properties: {}, required: ['a'] })).toThrow(ConstraintError);
    expect(() => grammarNode({ toolChoice: { name: 'nope' }, tools: [] })).toThrow(/not among the request's tools/);
    expect(() => grammarNode({ toolChoice: 'required' })).toThrow(/at least one tool/);
  });

  it('accepts type lists, anyOf of different kinds, annotations and OpenAI strict schemas', () => {
    expect(accepts({ anyOf: [{ type: 'string' }, { type: 'null' }, { type: 'object', properties: {}, additionalProperties: false }] }, '{}')).toBe(true);
    expect(accepts({ type: ['string', 'null'], title: 'x', description: 'y', default: null }, 'null')).toBe(true);
  });

  it("accepts integer bounds that every integer it writes is within (zod's z.number().int())", () => {
    const safe = { type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER };
    expect(accepts(safe, '-999999999999999')).toBe(true);
    expect(accepts(safe, '1.5')).toBe(false);
    expect(accepts({ type: ['integer', 'null'], maximum: Number.MAX_SAFE_INTEGER }, 'null')).toBe(true);
    expect(run(safe, '1000000000000000')).toBeNull();
  });
});

describe('token masks over the Llama 3 vocabulary', () => {
  const { tokenizerJson, tokenizerConfig } = buildLlama3TokenizerFiles({ imageToken: true });
  const tokenizer = LlamaTokenizer.fromJSON(tokenizerJson, tokenizerConfig);
  const eot = tokenizer.specialIds.eot!;

  it('random logits under the mask always give valid JSON, steered to completion within the budget', () => {
    const grammar = compileConstraint({ responseFormat: { type: 'json_schema', schema: WEATHER } }, tokenizer)!;
    expect(grammar.trie.singleByteTokens).toBe(256);
    const validate = new Ajv().compile(WEATHER);
    const logits = new Float32Array(tokenizer.vocabSize);
    const masked = new Float32Array(tokenizer.vocabSize);
    for (const [seed, budget] of [[1, 60], [2, 40], [3, 200], [4, 45]]) {
      let x = seed;
      const random = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
      const c = grammar.start([eot]);
      const ids: number[] = [];
      for (let left = budget; left > 0 && !c.finished; left--) {
        for (let i = 0; i < logits.length; i++) logits[i] = random() * 10;
        c.applyMask(logits, masked, left);
        let best = 0;
        for (let i = 1; i < masked.length; i++) if (masked[i] > masked[best]) best = i;
        expect(masked[best]).toBeGreaterThan(-Infinity);
        if (best === eot) break;
        c.advance(best);
        ids.push(best);
      }
      expect(c.complete).toBe(true);
      const value = JSON.parse(tokenizer.decode(ids));
      expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  it('masks are cached per state and exclude special tokens', () => {
    const grammar = compileConstraint({ responseFormat: { type: 'json_object' } }, tokenizer)!;
    const c = grammar.start([eot]);
    const logits = new Float32Array(tokenizer.vocabSize).fill(1);
    const masked = new Float32Array(tokenizer.vocabSize);
    c.applyMask(logits, masked);
    const computed = grammar.computed;
    grammar.start([eot]).applyMask(logits, masked);
    expect(grammar.computed).toBe(computed);
    const allowed = [...masked.keys()].filter((i) => masked[i] > -Infinity);
    expect(allowed.every((id) => tokenizer.decode([id]).startsWith('{'))).toBe(true);
    expect(allowed.some((id) => tokenizer.isSpecial(id))).toBe(false);
  });

  it('cached masks stay within the byte budget, and evicted ones are computed again', () => {
    const previous = setMaskCacheBudget(600 * 1024);
    try {
      const grammar = compileConstraint({ responseFormat: { type: 'json_schema', schema: { type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' }, c: { type: 'string' } }, required: ['a', 'b', 'c'], additionalProperties: false } } }, tokenizer)!;
      const logits = new Float32Array(tokenizer.vocabSize).fill(1);
      const masked = new Float32Array(tokenizer.vocabSize);
      const walk = () => {
        const c = grammar.start([eot]);
        for (const id of tokenizer.encode('{"a":"x","b":"y","c":"z"}', { allowSpecial: false })) {
          c.applyMask(logits, masked);
          expect(masked[id], tokenizer.decode([id])).toBe(1);
          c.advance(id);
        }
        expect(c.finished).toBe(true);
      };
      walk();
      expect(maskCacheBytes()).toBeLessThanOrEqual(600 * 1024);
      const computed = grammar.computed;
      walk();
      expect(grammar.computed).toBeGreaterThan(computed);
    } finally {
      setMaskCacheBudget(previous);
    }
  });

  it('inside strings, the table of content tokens gives exactly the trie walk\'s mask', () => {
    const node = compileJsonSchema(WEATHER);
    const trie = compileConstraint({ responseFormat: { type: 'json_object' } }, tokenizer)!.trie;
    const fast = new CompiledGrammar(node, trie);
    const walked = new CompiledGrammar(node, trie, false);
    const allowed = (g: CompiledGrammar, c: ReturnType<CompiledGrammar['start']>) => {
      const logits = new Float32Array(tokenizer.vocabSize).map((_, i) => i % 7);
      const out = new Float32Array(tokenizer.vocabSize);
      c.applyMask(logits, out);
      return out;
    };
    for (const prefix of ['{"city":"', '{"city":"x","unit":"celsius","days":1,"detail":null,"tags":["a","', '{"city":"\\n é']) {
      const a = fast.start([eot]);
      const b = walked.start([eot]);
      for (const id of tokenizer.encode(prefix, { allowSpecial: false })) {
        a.advance(id);
        b.advance(id);
      }
      expect(allowed(fast, a)).toEqual(allowed(walked, b));
      const ma = fast.mask((a as unknown as { state: Stack }).state);
      const mb = walked.mask((b as unknown as { state: Stack }).state);
      expect([...ma.deltas]).toEqual([...mb.deltas]);
      expect([...ma.ends]).toEqual([...mb.ends]);
      expect(new Set(ma.ids)).toEqual(new Set(mb.ids));
    }
  });
});
