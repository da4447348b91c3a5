// Guards: the cost of the guard pipeline (parallel composition + verdict cache) over a bare guard
// call, and Llama Guard latency on the tiny in-process model — deciding from the first decision
// token's log-probabilities (prefill plus two tokens) against generating the written verdict —
// for text and for a 4-tile image.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { composeGuards, GuardPolicy, LlamaGuard, PiiGuard, type Guard, type GuardSubject, type Verdict } from '@lookout/guards';
import { REFERENCE_IMAGES_DIR as REFERENCE_IMAGES, hasReferenceModels, referenceModelDir } from '@lookout/runtime/testing';
import type { Bench } from './report.js';

const PIPELINE_RUNS = 3000;
const MODEL_RUNS = 5;

const subject = (text: string, images: Uint8Array[] = []): GuardSubject => ({ stage: 'input', conversation: [], content: { text, images } });

/** A guard that answers at once: what is measured is the pipeline around it. */
const instant: Guard = {
  name: 'instant',
  async check(): Promise<Verdict> {
    return { safe: true, categories: [], guard: 'instant', latencyMs: 0 };
  },
};

async function perCall(runs: number, call: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(200, runs); i++) await call(i); // warm-up
  const started = performance.now();
  for (let i = 0; i < runs; i++) await call(i);
  return ((performance.now() - started) / runs) * 1000;
}

async function medianMs(runs: number, call: () => Promise<unknown>): Promise<number> {
  await call(); // warm-up (first run also builds sessions' buffers)
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await call();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const bench: Bench = async (report) => {
  // 1. Pipeline overhead, with an instant guard and with the PII rule guard.
  const text = (i: number) => `Order ${i}: please ship it to my office, thanks a lot for the help.`;
  const bare = await perCall(PIPELINE_RUNS, (i) => instant.check(subject(text(i))));
  const composed = composeGuards([instant, instant], { timeoutMs: 5000 });
  const composedUs = await perCall(PIPELINE_RUNS, (i) => composed.check(subject(text(i))));
  report({ name: 'composeGuards of 2 instant guards (timeouts, abort wiring)', value: composedUs, unit: 'µs/check', baseline: { name: 'bare instant guard', value: bare } });
  const policy = new GuardPolicy({ guards: { input: [instant] }, cache: { maxEntries: 10_000 } });
  const missUs = await perCall(PIPELINE_RUNS, (i) => policy.evaluate(subject(text(i + 1_000_000))));
  report({ name: 'GuardPolicy.evaluate, cache miss (hash + compose + store)', value: missUs, unit: 'µs/check', baseline: { name: 'bare instant guard', value: bare } });
  const hitUs = await perCall(PIPELINE_RUNS, () => policy.evaluate(subject(text(7))));
  report({ name: 'GuardPolicy.evaluate, cache hit', value: hitUs, unit: 'µs/check', baseline: { name: 'bare instant guard', value: bare } });
  const pii = new PiiGuard();
  const piiBare = await perCall(PIPELINE_RUNS, (i) => pii.check(subject(text(i))));
  const piiPolicy = new GuardPolicy({ guards: { input: [pii] } });
  const piiPolicyUs = await perCall(PIPELINE_RUNS, (i) => piiPolicy.evaluate(subject(text(i + 2_000_000))));
  report({ name: 'GuardPolicy over PiiGuard, cache miss', value: piiPolicyUs, unit: 'µs/check', baseline: { name: 'bare PiiGuard', value: piiBare } });

  // 2. Llama Guard on the tiny in-process model.
  if (!hasReferenceModels()) {
    console.log('  (skipped Llama Guard latency: shared/reference/mllama not found)');
    return;
  }
  const { OnnxModel, LlamaTokenizer } = await import('@lookout/runtime');
  const dirs: string[] = [];
  try {
    const textDir = referenceModelDir('tiny-text');
    dirs.push(textDir);
    // Without the prefix cache: these rows repeat one subject, which the cache would turn into
    // one-token prefills. The cache has its own row below, on different messages.
    const textModel = await OnnxModel.load(textDir, { intraOpThreads: 1, prefixCache: false });
    try {
      const tokenizer = await LlamaTokenizer.fromDirectory(textDir);
      const s = subject('Can you tell me how to return a damaged blender I bought last week?');
      const full = new LlamaGuard({ model: textModel, variant: '1b', tokenizer, maxTokens: 12 });
      const quick = new LlamaGuard({ model: textModel, variant: '1b', tokenizer, scoreOnly: true });
      const fullMs = await medianMs(MODEL_RUNS, () => full.check(s));
      const quickMs = await medianMs(MODEL_RUNS, () => quick.check(s));
      report({
        name: 'Llama Guard text, score from decision-token logprobs (2 tokens)',
        value: quickMs,
        unit: 'ms',
        baseline: { name: 'written verdict (12 tokens)', value: fullMs },
        note: `tiny-text, ${tokenizer.encodeSegments(full.prompt(s)).length}-token prompt, CPU, 1 thread`,
      });
    } finally {
      await textModel.dispose();
    }

    // Each check is a different message, but every Llama Guard prompt starts with the same
    // instructions and category list: the prefix cache feeds only the conversation part.
    const messages = ['Where is my order?', 'How do I reset my password?', 'Can I pay with a gift card?', 'The parcel arrived damaged.', 'Cancel my subscription, please.', 'Is this jacket waterproof?'];
    // Interleaved, so both see the same machine load; median of 15 checks each.
    const cachedModel = await OnnxModel.load(textDir, { intraOpThreads: 1 });
    const plainModel = await OnnxModel.load(textDir, { intraOpThreads: 1, prefixCache: false });
    const withCache = { ms: 0, promptTokens: 0 };
    const withoutCache = { ms: 0 };
    try {
      const tokenizer = await LlamaTokenizer.fromDirectory(textDir);
      const cachedGuard = new LlamaGuard({ model: cachedModel, variant: '1b', tokenizer, scoreOnly: true });
      const plainGuard = new LlamaGuard({ model: plainModel, variant: '1b', tokenizer, scoreOnly: true });
      const times: [number[], number[]] = [[], []];
      for (let i = 0; i < 16; i++) {
        const message = subject(messages[i % messages.length]);
        for (const [k, guard] of [cachedGuard, plainGuard].entries()) {
          const t = performance.now();
          await guard.check(message);
          if (i > 0) times[k].push(performance.now() - t); // the first check warms up
        }
      }
      const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
      withCache.ms = median(times[0]);
      withoutCache.ms = median(times[1]);
      withCache.promptTokens = tokenizer.encodeSegments(cachedGuard.prompt(subject(messages[0]))).length;
    } finally {
      await cachedModel.dispose();
      await plainModel.dispose();
    }
    report({
      name: 'Llama Guard text, a different message each check, prefix cache',
      value: withCache.ms,
      unit: 'ms',
      baseline: { name: 'without the prefix cache', value: withoutCache.ms },
      note: `tiny-text, ~${withCache.promptTokens}-token prompts sharing the instructions, score only, median of 15 interleaved checks, CPU, 1 thread`,
    });

    const imageDir = referenceModelDir('tiny-a');
    dirs.push(imageDir);
    const visionModel = await OnnxModel.load(imageDir, { intraOpThreads: 1, prefixCache: false });
    try {
      const image = new Uint8Array(readFileSync(path.join(REFERENCE_IMAGES, 'img3_1500x1000_rgb.png')));
      const s = subject('Is this product photo safe to show?', [image]);
      const full = new LlamaGuard({ model: visionModel, variant: '11b-vision', maxTokens: 12 });
      const quick = new LlamaGuard({ model: visionModel, variant: '11b-vision', scoreOnly: true });
      const fullMs = await medianMs(MODEL_RUNS, () => full.check(s));
      const quickMs = await medianMs(MODEL_RUNS, () => quick.check(s));
      report({
        name: 'Llama Guard 4-tile image, score from decision-token logprobs (2 tokens)',
        value: quickMs,
        unit: 'ms',
        baseline: { name: 'written verdict (12 tokens)', value: fullMs },
        note: 'tiny-a, 1500x1000 PNG → 2x2 tiles, CPU, 1 thread',
      });
    } finally {
      await visionModel.dispose();
    }
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
};

export default bench;
