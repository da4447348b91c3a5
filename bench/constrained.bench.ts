// Constrained decoding (docs/structured-output.md): what a JSON-Schema constraint costs per token,
// against free decoding in the same process, on the tiny Llama checkpoint and a mid-size one
// (random weights, CPU, one onnxruntime thread), and how long masks take to build for an
// OpenAI-style function schema over the Llama 3 vocabulary (128,256 tokens).
//
// Per checkpoint, schema (a long free-text string field; structure only; the function schema)
// and sampling (greedy; temperature 1 with top-k 40), interleaved, median of --rounds:
// constrained decoding in chunks (decodeChunk 16, the default: chunks checked against the
// constraint, constrained-chunks.ts), constrained one run per token (decodeChunk 1: the path every
// constrained request took before), and free decoding of as many tokens in chunks of 16 and one
// run per token. Options (after `--`): --models tiny,mid --rounds 3 --max-tokens 256 --no-masks
// --dir D (where the mid-size checkpoint is kept between runs).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  buildModel,
  compileConstraint,
  CompiledGrammar,
  generate,
  LlamaTokenizer,
  OnnxEngine,
  VocabularyTrie,
  writeTinyCheckpoint,
  type GenerationResult,
  type SamplingSettings,
} from '@lookout/runtime';
import { STRUCTURE_ONLY_SCHEMA } from '@lookout/runtime/testing';
import type { Bench } from './report.js';
import { BenchOptionError, suiteOptions } from './suite-support.js';

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

/** (a) One long free-text field: the model's own tokens are allowed inside it. */
const REPLY = {
  type: 'object',
  properties: { answer: { type: 'string' }, confident: { type: 'boolean' } },
  required: ['answer', 'confident'],
  additionalProperties: false,
};

const SCHEMAS = [
  { key: 'free-text field', schema: REPLY },
  { key: 'structure only', schema: STRUCTURE_ONLY_SCHEMA },
  { key: 'function schema', schema: CREATE_TICKET },
];

const SAMPLINGS: Array<{ key: string; sampling: (round: number) => SamplingSettings }> = [
  { key: 'greedy', sampling: () => ({}) },
  { key: 'T 1, top-k 40', sampling: (round) => ({ temperature: 1, topK: 40, seed: round + 1 }) },
];

/** The tiny checkpoint, and the mid-size one of docs/generation.md (hidden 512, 4 layers, 8 heads of 64). */
const MODELS = {
  tiny: { arch: 'llama' as const, seed: 3 },
  mid: { arch: 'llama' as const, seed: 3, hidden: 512, layers: 4, heads: 8, kvHeads: 2, intermediate: 2048, tieWordEmbeddings: true },
};

function options() {
  const v = suiteOptions({
    models: { type: 'string', default: 'tiny,mid' },
    rounds: { type: 'string', default: '3' },
    'max-tokens': { type: 'string', default: '256' },
    'no-masks': { type: 'boolean', default: false },
    dir: { type: 'string', default: path.join(tmpdir(), 'lookout-bench-constrained') },
  });
  const models = String(v.models).split(',') as Array<keyof typeof MODELS>;
  for (const m of models) if (!(m in MODELS)) throw new BenchOptionError(`--models takes ${Object.keys(MODELS).join(', ')}; got "${m}"`);
  const rounds = Number(v.rounds);
  const maxTokens = Number(v['max-tokens']);
  if (!Number.isInteger(rounds) || rounds < 1) throw new BenchOptionError(`--rounds must be an integer >= 1; got "${v.rounds}"`);
  if (!Number.isInteger(maxTokens) || maxTokens < 16) throw new BenchOptionError(`--max-tokens must be an integer >= 16; got "${v['max-tokens']}"`);
  return { models, rounds, maxTokens, masks: v['no-masks'] !== true, dir: String(v.dir) };
}

/** The checkpoint and its fp32 build, kept in `dir` between runs (rebuilt when the shape changes). */
async function checkpoint(dir: string, shape: object): Promise<string> {
  const marker = path.join(dir, 'bench-shape.json');
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== JSON.stringify(shape)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await writeTinyCheckpoint(dir, shape as Parameters<typeof writeTinyCheckpoint>[1]);
    await buildModel(dir, { dtype: 'fp32' });
    writeFileSync(marker, JSON.stringify(shape));
  }
  return dir;
}

const bench: Bench = async (report) => {
  const o = options();
  for (const model of o.models) {
    const dir = await checkpoint(path.join(o.dir, model), MODELS[model]);
    const engine = await OnnxEngine.load(dir, { intraOpThreads: 1 });
    const tokenizer = await LlamaTokenizer.fromDirectory(dir);
    const prompt = tokenizer.encode('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nOpen a ticket.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n', { allowSpecial: true });
    const eot = tokenizer.specialIds.eot!;
    const timed = async (run: () => Promise<GenerationResult>) => {
      const t = performance.now();
      const result = await run();
      return { result, msPerToken: (performance.now() - t) / Math.max(1, result.tokenIds.length) };
    };

    if (o.masks && model === o.models[0]) await maskCosts(report, tokenizer, engine, prompt, eot, o.rounds);

    for (const { key: schemaKey, schema } of SCHEMAS) {
      const grammar = compileConstraint({ responseFormat: { type: 'json_schema', schema } }, tokenizer)!;
      for (const { key: samplingKey, sampling } of SAMPLINGS) {
        const constrained = (round: number, decodeChunk: number) =>
          timed(() => generate(engine, tokenizer, { inputIds: prompt, eosIds: [eot], maxTokens: o.maxTokens, decodeChunk, sampling: sampling(round), constraint: grammar.start([eot]) }));
        // Masks cached first (each state's mask computed once per schema).
        for (let r = 0; r < o.rounds; r++) await constrained(r, 1);
        const rows = { chunked: [] as number[], perToken: [] as number[], free16: [] as number[], free1: [] as number[] };
        const shares = { tokens: [] as number[], accepted: [] as number[], masked: [] as number[], chunks: [] as number[], forced: [] as number[] };
        for (let r = 0; r < o.rounds; r++) {
          const c = await constrained(r, 16);
          rows.chunked.push(c.msPerToken);
          const s = c.result.constrained;
          shares.tokens.push(c.result.tokenIds.length);
          shares.accepted.push((s?.accepted ?? 0) / c.result.tokenIds.length);
          shares.masked.push((s?.masked ?? 0) / c.result.tokenIds.length);
          shares.forced.push(s?.forced ?? 0);
          shares.chunks.push(s?.chunks ?? 0);
          rows.perToken.push((await constrained(r, 1)).msPerToken);
          const n = c.result.tokenIds.length;
          for (const [chunk, into] of [[16, rows.free16], [1, rows.free1]] as const) {
            into.push((await timed(() => generate(engine, tokenizer, { inputIds: prompt, eosIds: [], maxTokens: n, sampling: sampling(r), decodeChunk: chunk }))).msPerToken);
          }
        }
        const pct = (x: number) => `${Math.round(100 * x)} %`;
        const note =
          `${median(shares.tokens)} tokens, ${pct(median(shares.accepted))} accepted from ${median(shares.chunks)} chunks, ${pct(median(shares.masked))} masked, ` +
          `${median(shares.forced)} forced; free one run per token ${median(rows.free1).toFixed(2)} ms; median of ${o.rounds}, prefill included`;
        const name = `${model}, ${schemaKey}, ${samplingKey}: ms/token constrained, chunked`;
        report({ name, value: median(rows.chunked), unit: 'ms', baseline: { name: 'constrained, one run per token (before)', value: median(rows.perToken) }, note });
        report({ name, value: median(rows.chunked), unit: 'ms', baseline: { name: 'free, decodeChunk 16', value: median(rows.free16) } });
      }
    }
    await engine.dispose();
  }
};

/** The vocabulary trie, a cold grammar's masks, and one mask computed or applied, against an argmax. */
async function maskCosts(report: Parameters<Bench>[0], tokenizer: LlamaTokenizer, engine: OnnxEngine, prompt: number[], eot: number, rounds: number): Promise<void> {
  let t = performance.now();
  const trie = new VocabularyTrie(tokenizer);
  const trieMs = performance.now() - t;
  report({ name: 'vocabulary trie build (once per tokenizer)', value: trieMs, unit: 'ms', note: `${trie.nodeCount} nodes, ${tokenizer.vocabSize} ids` });
  compileConstraint({ responseFormat: { type: 'json_schema', schema: CREATE_TICKET } }, tokenizer); // the trie of this tokenizer, cached
  const constrained = async (grammar: CompiledGrammar, seed: number) =>
    generate(engine, tokenizer, { inputIds: prompt, eosIds: [eot], maxTokens: 400, sampling: { temperature: 1, topK: 40, seed }, constraint: grammar.start([eot]) });
  // Cold: a new grammar, every mask computed on the way (walks of the trie), against the same
  // requests with the masks cached.
  const cold: { ms: number; masks: number; tokens: number }[] = [];
  const warm: number[] = [];
  const grammar = compileConstraint({ responseFormat: { type: 'json_schema', schema: CREATE_TICKET } }, tokenizer)!;
  for (let r = 0; r < rounds; r++) await constrained(grammar, 100 + r);
  for (let r = 0; r < rounds; r++) {
    const fresh = compileConstraint({ responseFormat: { type: 'json_schema', name: `cold-${r}`, schema: { ...CREATE_TICKET, title: `cold-${r}` } } }, tokenizer)!;
    t = performance.now();
    const result = await constrained(fresh, 100 + r);
    cold.push({ ms: performance.now() - t, masks: fresh.computed, tokens: result.tokenIds.length });
    t = performance.now();
    const again = await constrained(grammar, 100 + r);
    warm.push((performance.now() - t) / again.tokenIds.length);
  }
  report({ name: 'ms/token, function schema, first request (cold masks)', value: median(cold.map((c) => c.ms / c.tokens)), unit: 'ms', baseline: { name: 'masks cached', value: median(warm) }, note: `${median(cold.map((c) => c.masks))} masks computed per reply` });

  // Per mask: computing one (cache miss) and applying one (hit), against the free path's argmax.
  const misses: number[] = [];
  const hits: number[] = [];
  const argmaxes: number[] = [];
  const logits = new Float32Array(tokenizer.vocabSize).map((_, i) => Math.sin(i));
  const masked = new Float32Array(tokenizer.vocabSize);
  for (let r = 0; r < rounds; r++) {
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
}

export default bench;
