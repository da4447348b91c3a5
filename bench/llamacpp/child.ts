// One engine, one model file, one timed generation, in a process of its own so that its peak RSS
// is its own. Run by llamacpp.bench.ts: `node --import tsx bench/llamacpp/child.ts '<json job>'`;
// prints one JSON line (ChildResult) on stdout.
import { argmax, OnnxEngine } from '@lookout/runtime';
import type { Token } from 'node-llama-cpp';

export interface ChildJob {
  engine: 'lookout' | 'llamacpp';
  /** An ONNX build directory (lookout) or a .gguf file (llamacpp). */
  path: string;
  prompt: number[];
  /** Generated tokens, the first one included (it comes from the prefill's logits). */
  tokens: number;
  threads: number;
  /** Lookout: tokens per in-graph decode run (the default decodeChunk of generate). */
  chunk: number;
  /** Lookout: onnxruntime's weight prepacking (default: the engine's choice for the build). */
  prepack?: boolean;
}

export interface ChildResult {
  loadMs: number;
  /** Prompt in, first token's logits out. */
  prefillMs: number;
  /** The tokens after the first, one forward pass each. */
  decodeMs: number;
  decodeSteps: number;
  tokenIds: number[];
  /** Peak resident set of the whole process (node + engine), bytes. */
  peakRss: number;
  /** Resident set before the engine was loaded, bytes. */
  idleRss: number;
}

const WARMUP_PROMPT = [128000, 9906, 1917, 11, 420, 374, 264, 1296, 13];

async function lookout(job: ChildJob): Promise<Omit<ChildResult, 'peakRss' | 'idleRss'>> {
  let t = performance.now();
  const engine = await OnnxEngine.load(job.path, { executionProvider: 'cpu', intraOpThreads: job.threads, prepackWeights: job.prepack });
  const loadMs = performance.now() - t;
  try {
    // Warm-up: a short prompt and a few steps (first-run allocations, thread pool start).
    const w = await engine.prefill(WARMUP_PROMPT);
    await w.greedy(4);
    w.dispose();
    engine.clearPrefixCache();
    t = performance.now();
    const s = await engine.prefill(job.prompt);
    const prefillMs = performance.now() - t;
    t = performance.now();
    // greedy(n) takes the argmax of the current logits and feeds it, n tokens in n forward
    // passes; the last token is the argmax of the logits they leave (no pass for it), so n
    // tokens cost n - 1 passes, as in llama.cpp's loop.
    const tokenIds: number[] = [];
    while (tokenIds.length < job.tokens - 1) tokenIds.push(...(await s.greedy(Math.min(job.chunk, job.tokens - 1 - tokenIds.length))));
    tokenIds.push(argmax(s.logits));
    const decodeMs = performance.now() - t;
    s.dispose();
    return { loadMs, prefillMs, decodeMs, decodeSteps: job.tokens - 1, tokenIds };
  } finally {
    await engine.dispose();
  }
}

async function llamacpp(job: ChildJob): Promise<Omit<ChildResult, 'peakRss' | 'idleRss'>> {
  const { getLlama } = await import('node-llama-cpp');
  let t = performance.now();
  const llama = await getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: 'error' as never });
  const model = await llama.loadModel({ modelPath: job.path });
  const context = await model.createContext({
    contextSize: Math.ceil((job.prompt.length + job.tokens + 16) / 256) * 256,
    batchSize: job.prompt.length,
    threads: job.threads,
  });
  const loadMs = performance.now() - t;
  try {
    {
      const warm = context.getSequence();
      let n = 0;
      for await (const _ of warm.evaluate(WARMUP_PROMPT as Token[], { temperature: 0 })) if (++n === 5) break;
      warm.dispose();
    }
    const seq = context.getSequence();
    const tokenIds: number[] = [];
    let prefillMs = 0;
    t = performance.now();
    // The generator yields a token after each evaluation: the first after the prompt, then one
    // per fed-back token. It does not stop at end-of-generation tokens by itself.
    for await (const token of seq.evaluate(job.prompt as Token[], { temperature: 0 })) {
      tokenIds.push(token);
      if (tokenIds.length === 1) {
        prefillMs = performance.now() - t;
        t = performance.now();
      }
      if (tokenIds.length === job.tokens) break;
    }
    const decodeMs = performance.now() - t;
    seq.dispose();
    return { loadMs, prefillMs, decodeMs, decodeSteps: job.tokens - 1, tokenIds };
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

const job = JSON.parse(process.argv[2]) as ChildJob;
const idleRss = process.memoryUsage().rss;
const result = job.engine === 'lookout' ? await lookout(job) : await llamacpp(job);
const out: ChildResult = { ...result, idleRss, peakRss: process.resourceUsage().maxRSS * 1024 };
process.stdout.write(`${JSON.stringify(out)}\n`);
