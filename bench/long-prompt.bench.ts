// Memory of long prompts: peak resident memory of one prefill at 1k, 4k and 16k prompt tokens on
// a mid-size checkpoint (hidden 512, 4 layers, 8 heads of 64, the real 128k vocabulary; fp32),
// chunked (the defaults: at most 1024 tokens per forward run, one layer's attention scores within
// 256 MiB) against the whole prompt in one run. Two builds: the fused one (onnxruntime's
// GroupQueryAttention kernel, real checkpoints' path) and the plain-op one (MatMul/Softmax: the
// path of Mllama's cross-attention layers and of heads too small for the kernel). Each prefill
// runs in a child process of its own (Linux).
// Options (after `--`): --lengths 1024,4096,16384 --threads 2 --dir D.
// One-run plain-op prefills past --max-plain-one-run (4096) are not run: their score matrices
// alone would take heads × T² × 4 bytes (8.6 GB at 16k) and can exhaust the machine.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel, writeTinyCheckpoint } from '@lookout/runtime';
import type { LongPromptJob, LongPromptResult } from './long-prompt/child.js';
import type { Bench } from './report.js';
import { runJsonChild, suiteOptions } from './suite-support.js';

const SHAPE = { arch: 'llama' as const, seed: 3, hidden: 512, layers: 4, heads: 8, kvHeads: 2, intermediate: 2048, tieWordEmbeddings: true };

function options() {
  const values = suiteOptions({
    lengths: { type: 'string', default: '1024,4096,16384' },
    threads: { type: 'string', default: '2' },
    'max-plain-one-run': { type: 'string', default: '4096' },
    dir: { type: 'string', default: path.join(tmpdir(), 'lookout-bench-long-prompt') },
  });
  const lengths = String(values.lengths).split(',').map(Number);
  if (lengths.some((n) => !Number.isInteger(n) || n < 2)) throw new Error(`--lengths must be integers >= 2, comma-separated; got "${values.lengths}"`);
  return { lengths, threads: Number(values.threads), maxPlainOneRun: Number(values['max-plain-one-run']), dir: String(values.dir) };
}

function runChild(job: LongPromptJob): Promise<LongPromptResult> {
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'long-prompt', 'child.ts');
  return runJsonChild<LongPromptResult>(child, job, `prefill of ${job.tokens} tokens${job.oneRun ? ' in one run' : ''}`, ['--expose-gc']);
}

const mb = (bytes: number) => bytes / 2 ** 20;

const bench: Bench = async (report) => {
  if (process.platform !== 'linux') {
    process.stderr.write('  long-prompt: skipped, it reads peak memory from /proc (Linux only)\n');
    return;
  }
  const o = options();
  const model = path.join(o.dir, 'checkpoint');
  const marker = path.join(model, 'bench-shape.json');
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== JSON.stringify(SHAPE)) {
    mkdirSync(o.dir, { recursive: true });
    await writeTinyCheckpoint(model, SHAPE);
    writeFileSync(marker, JSON.stringify(SHAPE));
  }
  const builds = {
    'GroupQueryAttention': (await buildModel(model, { outDir: path.join(o.dir, 'onnx-fused') })).outDir,
    'plain-op attention': (await buildModel(model, { outDir: path.join(o.dir, 'onnx-plain'), fused: false })).outDir,
  };
  for (const [attention, build] of Object.entries(builds)) {
    for (const tokens of o.lengths) {
      const chunked = await runChild({ build, tokens, oneRun: false, threads: o.threads });
      const oneRunAllowed = attention !== 'plain-op attention' || tokens <= o.maxPlainOneRun;
      const oneRun = oneRunAllowed ? await runChild({ build, tokens, oneRun: true, threads: o.threads }) : undefined;
      const growth = (r: LongPromptResult) => mb(r.peakRss - r.loadedRss);
      const note = `${attention}, ${tokens} tokens; loaded ${mb(chunked.loadedRss).toFixed(0)} MiB, after the request ${mb(chunked.afterRss).toFixed(0)} MiB`;
      report({
        name: `prefill peak memory above the loaded model, ${attention}, ${tokens} tokens, chunked`,
        value: growth(chunked),
        unit: 'MiB',
        ...(oneRun ? { baseline: { name: 'one run', value: growth(oneRun) } } : {}),
        note: oneRun ? note : `${note}; one run not tried (≈${mb(SHAPE.heads * tokens * tokens * 4).toFixed(0)} MiB of scores per layer)`,
      });
      report({
        name: `prefill tokens/s, ${attention}, ${tokens} tokens, chunked`,
        value: tokens / (chunked.prefillMs / 1000),
        unit: 'tok/s',
        ...(oneRun ? { baseline: { name: 'one run', value: tokens / (oneRun.prefillMs / 1000) } } : {}),
        note: `${chunked.runs} forward runs`,
      });
    }
  }
};

export default bench;
