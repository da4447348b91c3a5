// One prefill of one prompt length, in a process of its own so that its peak memory is its own.
// Run by long-prompt.bench.ts: `node --import tsx bench/long-prompt/child.ts '<json job>'`; prints
// one JSON line (LongPromptResult) on stdout. Linux: the peak is read from /proc (VmHWM), reset
// after loading so that it measures the prefill, not the load.
import { readFileSync, writeFileSync } from 'node:fs';
import { OnnxEngine } from '@lookout/runtime';

export interface LongPromptJob {
  build: string;
  tokens: number;
  /** The whole prompt in one forward run instead of the default chunks. */
  oneRun: boolean;
  threads: number;
}

export interface LongPromptResult {
  /** Resident set once the model is loaded and warmed up, bytes. */
  loadedRss: number;
  /** Peak resident set during the prefill, bytes. */
  peakRss: number;
  /** Resident set after the session and the prefix cache are dropped (and a GC), bytes. */
  afterRss: number;
  prefillMs: number;
  /** Forward runs the prefill took. */
  runs: number;
}

const kib = (field: string) => Number(readFileSync('/proc/self/status', 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))![1]) * 1024;

const job = JSON.parse(process.argv[2]) as LongPromptJob;
const oneRun = { prefillChunkTokens: job.tokens, prefillScoreBytes: Number.MAX_SAFE_INTEGER };
const engine = await OnnxEngine.load(job.build, { intraOpThreads: job.threads, ...(job.oneRun ? oneRun : {}) });
const warm = await engine.prefill([128000, 9906, 1917]);
warm.dispose();
engine.clearPrefixCache();
globalThis.gc?.();
const loadedRss = kib('VmRSS');
writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
// Ordinary (non-special) ids after <|begin_of_text|>, a fixed pseudo-random walk.
const ids = [128000];
for (let x = 7; ids.length < job.tokens; ) ids.push((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % 128000);
const decoder = (engine as unknown as { decoder: { run: (...a: unknown[]) => Promise<unknown> } }).decoder;
const run = decoder.run.bind(decoder);
let runs = 0;
decoder.run = (...a: unknown[]) => (runs++, run(...a));
const t = performance.now();
const session = await engine.prefill(ids);
const prefillMs = performance.now() - t;
const peakRss = kib('VmHWM');
session.dispose();
engine.clearPrefixCache();
globalThis.gc?.();
await new Promise((r) => setTimeout(r, 100));
const result: LongPromptResult = { loadedRss, peakRss, afterRss: kib('VmRSS'), prefillMs, runs };
await engine.dispose();
process.stdout.write(`${JSON.stringify(result)}\n`);
