// Constrained decoding (docs/structured-output.md): what a JSON-Schema mask costs per token on the
// tiny Llama checkpoint (random weights, CPU, one onnxruntime thread), against free decoding in
// the same process, and how long masks take to build for an OpenAI-style function schema over the
// Llama 3 vocabulary (128,256 tokens).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildModel, compileConstraint, CompiledGrammar, generate, LlamaTokenizer, OnnxEngine, VocabularyTrie, writeTinyCheckpoint } from '@lookout/runtime';
import type { Bench } from './report.js';

const ROUNDS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** An OpenAI-style function schema: nested objects, enums, arrays of objects, nullable fields. */
const CREATE_TICKET = {
  type: 'object',
  properties: {
    customer: {
      type: 'object',
      properties: { id: { type: 'string' }, tier: { enum: ['free', 'plus', 'business', 'enterprise'] }, email: { type: ['string', 'null'] } },
      required: ['id', 'tier', 'email'],
      additionalProperties: false,
    },
    category: { type: 'string', enum: ['damaged_item', 'late_delivery', 'refund', 'billing', 'other'] },
    priority: { type: 'integer', enum: [1, 2, 3, 4] },
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: { sku: { type: 'string' }, quantity: { type: 'integer' }, condition: { enum: ['new', 'opened', 'broken'] } },
        required: ['sku', 'quantity', 'condition'],
        additionalProperties: false,
      },
    },
    summary: { type: 'string' },
    refund: { anyOf: [{ type: 'object', properties: { amount: { type: 'number' }, currency: { enum: ['EUR', 'USD', 'GBP'] } }, required: ['amount', 'currency'], additionalProperties: false }, { type: 'null' }] },
    escalate: { type: 'boolean' },
  },
  required: ['customer', 'category', 'priority', 'items', 'summary', 'refund', 'escalate'],
  additionalProperties: false,
};

const bench: Bench = async (report) => {
  const root = mkdtempSync(path.join(tmpdir(), 'lookout-bench-constrained-'));
  try {
    const dir = path.join(root, 'llama');
    await writeTinyCheckpoint(dir, { arch: 'llama', seed: 3 });
    await buildModel(dir, { dtype: 'fp32' });
    const engine = await OnnxEngine.load(dir, { intraOpThreads: 1 });
    const tokenizer = await LlamaTokenizer.fromDirectory(dir);
    const prompt = tokenizer.encode('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nOpen a ticket.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n', { allowSpecial: true });
    const eot = tokenizer.specialIds.eot!;

    // Mask building: the vocabulary trie (once per tokenizer), then masks of a cold grammar.
    let t = performance.now();
    const trie = new VocabularyTrie(tokenizer);
    const trieMs = performance.now() - t;
    report({ name: 'vocabulary trie build (once per tokenizer)', value: trieMs, unit: 'ms', note: `${trie.nodeCount} nodes, ${tokenizer.vocabSize} ids` });

    const spec = { responseFormat: { type: 'json_schema' as const, schema: CREATE_TICKET } };
    compileConstraint(spec, tokenizer); // the trie of this tokenizer, cached
    const constrained = async (grammar: CompiledGrammar, seed: number) =>
      generate(engine, tokenizer, { inputIds: prompt, eosIds: [eot], maxTokens: 400, sampling: { temperature: 1, topK: 40, seed }, constraint: grammar.start([eot]) });

    // Cold: a new grammar, every mask computed on the way (walks of the trie).
    const coldRuns: { ms: number; masks: number; tokens: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const cold = compileConstraint({ responseFormat: { type: 'json_schema', name: `cold-${r}`, schema: { ...CREATE_TICKET, title: `cold-${r}` } } }, tokenizer)!;
      t = performance.now();
      const result = await constrained(cold, 100 + r);
      coldRuns.push({ ms: performance.now() - t, masks: cold.computed, tokens: result.tokenIds.length });
    }
    const grammar = compileConstraint(spec, tokenizer)!;
    // Warm the cache with the same seeds, then measure.
    for (let r = 0; r < ROUNDS; r++) await constrained(grammar, r);
    const warm: number[] = [];
    const free1: number[] = [];
    const free16: number[] = [];
    let tokens = 0;
    for (let r = 0; r < ROUNDS; r++) {
      t = performance.now();
      const c = await constrained(grammar, r);
      warm.push((performance.now() - t) / c.tokenIds.length);
      tokens = c.tokenIds.length;
      for (const [chunk, into] of [[1, free1], [16, free16]] as const) {
        t = performance.now();
        const f = await generate(engine, tokenizer, { inputIds: prompt, eosIds: [], maxTokens: c.tokenIds.length, sampling: { temperature: 1, topK: 40, seed: r }, decodeChunk: chunk });
        into.push((performance.now() - t) / f.tokenIds.length);
      }
    }
    const note = `T 1, top-k 40, ${tokens}-token replies (prefill included), median of ${ROUNDS}, one CPU thread`;
    report({ name: 'ms/token, json_schema (function schema), masks cached', value: median(warm), unit: 'ms', baseline: { name: 'free, one run per token', value: median(free1) }, note });
    report({ name: 'ms/token, json_schema, masks cached', value: median(warm), unit: 'ms', baseline: { name: 'free, decodeChunk 16 (the default)', value: median(free16) }, note });
    const coldPerToken = median(coldRuns.map((c) => c.ms / c.tokens));
    report({ name: 'ms/token, json_schema, first request (cold masks)', value: coldPerToken, unit: 'ms', baseline: { name: 'masks cached', value: median(warm) }, note: `${median(coldRuns.map((c) => c.masks))} masks computed per reply` });

    // Per mask: computing one (cache miss) and applying one (hit), against the free path's argmax.
    const misses: number[] = [];
    const hits: number[] = [];
    const argmaxes: number[] = [];
    const logits = new Float32Array(tokenizer.vocabSize).map((_, i) => Math.sin(i));
    const masked = new Float32Array(tokenizer.vocabSize);
    for (let r = 0; r < ROUNDS; r++) {
      const cold = compileConstraint({ responseFormat: { type: 'json_schema', schema: { ...CREATE_TICKET, title: `walk-${r}` } } }, tokenizer)!;
      const c = cold.start([eot]);
      let x = r + 1;
      for (let step = 0; step < 200 && !c.finished; step++) {
        for (let i = 0; i < logits.length; i += 97) logits[i] = ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648) * 20;
        const before = cold.computed;
        t = performance.now();
        c.applyMask(logits, masked, 400 - step);
        const dt = performance.now() - t;
        (cold.computed > before ? misses : hits).push(dt);
        t = performance.now();
        let best = 0;
        for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        argmaxes.push(performance.now() - t);
        best = 0;
        for (let i = 1; i < masked.length; i++) if (masked[i] > masked[best]) best = i;
        if (best === eot) break;
        c.advance(best);
      }
    }
    report({ name: 'mask for a new state (trie walk), function schema', value: median(misses), unit: 'ms', baseline: { name: 'argmax over the logits', value: median(argmaxes) }, note: `${misses.length} masks, p90 ${[...misses].sort((a, b) => a - b)[Math.floor(misses.length * 0.9)].toFixed(1)} ms, max ${Math.max(...misses).toFixed(1)} ms` });
    report({ name: 'mask applied from the cache', value: median(hits), unit: 'ms', baseline: { name: 'argmax over the logits', value: median(argmaxes) }, note: `${hits.length} steps` });
    await engine.dispose();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};

export default bench;
