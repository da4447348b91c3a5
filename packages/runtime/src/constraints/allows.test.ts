// TokenConstraint.allows and forcedToken answer what applyMask would, without building the mask:
// checked over the whole Llama 3 vocabulary in states reached by random masked walks (inside
// strings, keys, enums, numbers, steered near the end of the budget).
import { describe, expect, it } from 'vitest';
import { buildLlama3TokenizerFiles, LlamaTokenizer } from '../tokenizer/index.js';
import { compileConstraint } from './request-grammar.js';

const SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    kind: { enum: ['alpha', 'beta', 'gamma'] },
    count: { type: 'integer' },
    ratio: { type: 'number' },
    tags: { type: 'array', items: { type: 'string' } },
    ok: { type: ['boolean', 'null'] },
  },
  required: ['name', 'kind', 'count', 'ratio', 'tags', 'ok'],
  additionalProperties: false,
};

describe('allows() and forcedToken() agree with the mask', () => {
  const { tokenizerJson, tokenizerConfig } = buildLlama3TokenizerFiles({ imageToken: true });
  const tokenizer = LlamaTokenizer.fromJSON(tokenizerJson, tokenizerConfig);
  const eot = tokenizer.specialIds.eot!;

  it('for every id of the vocabulary, in states along random walks, with and without steering', () => {
    const cases = [
      { spec: { responseFormat: { type: 'json_schema' as const, schema: SCHEMA } }, seed: 1, budget: 400 },
      { spec: { responseFormat: { type: 'json_schema' as const, schema: SCHEMA } }, seed: 2, budget: 70 },
      { spec: { responseFormat: { type: 'json_object' as const } }, seed: 3, budget: 50 },
      {
        spec: { tools: [{ name: 'refund', description: '', parameters: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] } }], toolChoice: { name: 'refund' } },
        seed: 4,
        budget: 30,
      },
    ];
    const V = tokenizer.vocabSize;
    const logits = new Float32Array(V);
    const masked = new Float32Array(V);
    let forcedSeen = 0;
    let checked = 0;
    for (const { spec, seed, budget } of cases) {
      const grammar = compileConstraint(spec, tokenizer)!;
      const c = grammar.start([eot]);
      let x = seed;
      const random = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
      for (let left = budget; left > 0 && !c.finished; left--) {
        for (let i = 0; i < V; i++) logits[i] = random() * 10;
        c.applyMask(logits, masked, left);
        // Every few states: the whole vocabulary (the walk itself covers the rest).
        if (left % 3 === 0 || left < 12) {
          let allowed = 0;
          let only = -1;
          for (let id = 0; id < V; id++) {
            const inMask = masked[id] > -Infinity;
            if (c.allows(id, left) !== inMask) throw new Error(`id ${id} (${JSON.stringify(tokenizer.decode([id]))}) at ${left} left: allows ${!inMask}, mask ${inMask}`);
            if (inMask) {
              allowed++;
              only = id;
            }
          }
          const forced = c.forcedToken(left);
          if (allowed === 1 && !c.complete) {
            expect(forced).toBe(only);
            forcedSeen++;
          } else expect(forced).toBeUndefined();
          checked++;
        }
        let best = 0;
        for (let i = 1; i < V; i++) if (masked[i] > masked[best]) best = i;
        if (best === eot) break;
        expect(c.allows(best, left)).toBe(true);
        c.advance(best);
      }
    }
    expect(checked).toBeGreaterThan(40);
    // Single-token positions occur (the last bytes of a key or an enum value, steering).
    expect(forcedSeen).toBeGreaterThan(0);
  }, 120_000);
});
