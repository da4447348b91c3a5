// Lookout against llama.cpp (node-llama-cpp, CPU) on the same weights: one checkpoint from the
// tiny-checkpoint writer (default: the Llama 3.2 1B shape, random weights), built as Lookout's
// ONNX (fp32, int4, and int4 with a 4-bit lm_head and embeddings: Q4_0's bits everywhere) and
// written as GGUF (F32, Q8_0, Q4_0) by the runtime's GGUF writer. Each
// engine runs in its own child process (so peak RSS is its own), interleaved, with the same
// thread count, batch 1, the same prompt ids and greedy decoding:
//   prefill tokens/s, decode tokens/s and ms/token, peak RSS, load time; ratios Lookout / llama.cpp.
// Options (after `--`): --size 1b|small, --prompt N (512), --tokens N (128), --threads N (2),
// --rounds N (1), --chunk N (16, Lookout's tokens per in-graph decode run), --int4-block N (32,
// the int4 builds' weights per quantisation block: 32, 64 or 128), --engines K,K (only these
// runs, e.g. lookout-int4,llamacpp-Q4_0; ratios of absent pairs are left out), --dir D (work
// directory; the checkpoint there is reused), --json (print one JSON object instead of rows).
import { existsSync, mkdirSync, rmSync, statSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel, writeLlamaGguf, writeTinyCheckpoint, type GgmlType, type TinyCheckpointOptions } from '@lookout/runtime';
import type { ChildJob, ChildResult } from './llamacpp/child.js';
import type { Bench } from './report.js';
import { BenchOptionError, runJsonChild, suiteOptions } from './suite-support.js';

const SIZES: Record<string, Omit<TinyCheckpointOptions, 'arch'>> = {
  // Llama 3.2 1B: hidden 2048, 16 layers, 32/8 heads (head_dim 64), MLP 8192, tied embeddings.
  '1b': { hidden: 2048, layers: 16, heads: 32, kvHeads: 8, intermediate: 8192, tieWordEmbeddings: true },
  // A quick run: the same vocabulary, a quarter of the width, 4 layers.
  small: { hidden: 512, layers: 4, heads: 8, kvHeads: 2, intermediate: 2048, tieWordEmbeddings: true },
};

function int4Block(value: string): 32 | 64 | 128 {
  if (value !== '32' && value !== '64' && value !== '128') throw new BenchOptionError(`--int4-block must be 32, 64 or 128; got "${value}"`);
  return Number(value) as 32 | 64 | 128;
}

function options() {
  const values = suiteOptions({
    size: { type: 'string', default: '1b' },
    prompt: { type: 'string', default: '512' },
    tokens: { type: 'string', default: '128' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '1' },
    chunk: { type: 'string', default: '16' },
    'int4-block': { type: 'string', default: '32' },
    engines: { type: 'string' },
    dir: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const size = String(values.size);
  if (!SIZES[size]) throw new BenchOptionError(`--size must be one of ${Object.keys(SIZES).join(', ')}; got "${size}"`);
  const int = (name: string, min: number) => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < min) throw new BenchOptionError(`--${name} must be an integer >= ${min}; got "${values[name]}"`);
    return v;
  };
  return {
    size,
    prompt: int('prompt', 1),
    tokens: int('tokens', 2),
    threads: int('threads', 1),
    rounds: int('rounds', 1),
    chunk: int('chunk', 1),
    int4Block: int4Block(String(values['int4-block'])),
    engines: typeof values.engines === 'string' ? values.engines.split(',').map((e) => e.trim()).filter(Boolean) : undefined,
    dir: typeof values.dir === 'string' ? values.dir : path.join(tmpdir(), `lookout-bench-llamacpp-${size}`),
    json: values.json === true,
  };
}

const log = (s: string) => process.stderr.write(`  ${s}\n`);

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
}

/** Prompt ids: a fixed pseudo-random walk over ordinary (non-special) tokens after <|begin_of_text|>. */
function promptIds(n: number): number[] {
  const ids = [128000];
  let x = 12345;
  while (ids.length < n) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    ids.push(x % 128000);
  }
  return ids;
}

function runChild(job: ChildJob): Promise<ChildResult> {
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'llamacpp', 'child.ts');
  return runJsonChild<ChildResult>(child, job, `${job.engine} on ${job.path}`);
}

interface Tally {
  prefillTps: number;
  decodeTps: number;
  msPerToken: number;
  peakRssMB: number;
  loadMs: number;
  tokenIds: number[];
}

const bench: Bench = async (report) => {
  const o = options();
  mkdirSync(o.dir, { recursive: true });
  const model = path.join(o.dir, 'checkpoint');
  const sizes = { arch: 'llama' as const, seed: 1, ...SIZES[o.size] };
  const marker = path.join(model, 'bench-sizes.json');
  const newCheckpoint = !existsSync(marker) || readFileSync(marker, 'utf8') !== JSON.stringify(sizes);
  if (newCheckpoint) {
    rmSync(model, { recursive: true, force: true });
    let t = performance.now();
    log(`writing the ${o.size} checkpoint (f32) to ${model} ...`);
    await writeTinyCheckpoint(model, sizes);
    writeFileSync(marker, JSON.stringify(sizes));
    log(`  ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  // int4 is the default int4 build (8-bit lm_head and embeddings); int4-head4 stores those in
  // 4-bit blocks too, the bits llama.cpp's Q4_0 file has, for an equal-bits comparison.
  const blockSuffix = o.int4Block === 32 ? '' : `-b${o.int4Block}`;
  const builds = {
    fp32: { dtype: 'fp32', outDir: path.join(o.dir, 'onnx-fp32') },
    int4: { dtype: 'int4', outDir: path.join(o.dir, `onnx-int4${blockSuffix}`), int4: { blockSize: o.int4Block } },
    'int4-head4': { dtype: 'int4', outDir: path.join(o.dir, `onnx-int4-head4${blockSuffix}`), int4: { lmHead: 'int4', embeddings: 'int4', blockSize: o.int4Block } },
  } as const;
  const onnx = Object.fromEntries(Object.entries(builds).map(([key, build]) => [key, build.outDir])) as Record<keyof typeof builds, string>;
  const gguf = { F32: path.join(o.dir, 'model-F32.gguf'), Q8_0: path.join(o.dir, 'model-Q8_0.gguf'), Q4_0: path.join(o.dir, 'model-Q4_0.gguf') };

  const prompt = promptIds(o.prompt);
  const allRuns: Array<{ key: string; engine: ChildJob['engine']; path: string; prepack?: boolean }> = [
    { key: 'lookout-fp32', engine: 'lookout', path: onnx.fp32 },
    { key: 'llamacpp-F32', engine: 'llamacpp', path: gguf.F32 },
    { key: 'lookout-int4', engine: 'lookout', path: onnx.int4 },
    { key: 'llamacpp-Q4_0', engine: 'llamacpp', path: gguf.Q4_0 },
    { key: 'llamacpp-Q8_0', engine: 'llamacpp', path: gguf.Q8_0 },
    // The fp32 build with onnxruntime's weight prepacking on (off by default on CPU): what the
    // default gives up in decode speed for half the memory and a fast load.
    { key: 'lookout-fp32-prepacked', engine: 'lookout', path: onnx.fp32, prepack: true },
    { key: 'lookout-int4-head4', engine: 'lookout', path: onnx['int4-head4'] },
  ];
  const unknown = o.engines?.filter((k) => !allRuns.some((r) => r.key === k)) ?? [];
  if (unknown.length) throw new BenchOptionError(`--engines: unknown ${unknown.join(', ')}; runs are ${allRuns.map((r) => r.key).join(', ')}`);
  const runs = o.engines ? allRuns.filter((r) => o.engines!.includes(r.key)) : allRuns;
  // Only what the chosen runs read is built and written.
  const used = new Set(runs.map((r) => r.path));
  for (const [name, build] of Object.entries(builds)) {
    if (!used.has(build.outDir)) continue;
    const t = performance.now();
    // The builds of an unchanged checkpoint are reused (the 1B shape takes minutes to build).
    await buildModel(model, { ...build, reuseExisting: !newCheckpoint });
    log(`built ONNX ${name}: ${(dirBytes(build.outDir) / 1e6).toFixed(0)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  for (const type of ['F32', 'Q8_0', 'Q4_0'] as const satisfies readonly GgmlType[]) {
    if (!used.has(gguf[type])) continue;
    const t = performance.now();
    const { bytes } = await writeLlamaGguf(model, gguf[type], { type });
    log(`wrote GGUF ${type}: ${(bytes / 1e6).toFixed(0)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }

  const results = new Map<string, ChildResult[]>();
  for (let r = 0; r < o.rounds; r++) {
    // Interleaved; odd rounds run the list backwards.
    const order = r % 2 ? [...runs].reverse() : runs;
    for (const run of order) {
      const res = await runChild({ engine: run.engine, path: run.path, prompt, tokens: o.tokens, threads: o.threads, chunk: o.chunk, prepack: run.prepack });
      log(`${run.key} round ${r + 1}: prefill ${res.prefillMs.toFixed(0)} ms, decode ${(res.decodeMs / res.decodeSteps).toFixed(1)} ms/token, peak RSS ${(res.peakRss / 1e6).toFixed(0)} MB, load ${res.loadMs.toFixed(0)} ms`);
      results.set(run.key, [...(results.get(run.key) ?? []), res]);
    }
  }
  // The least disturbed round of each (the machine may be shared): fastest times, RSS of the same run.
  const tally = (key: string): Tally => {
    const rs = results.get(key)!;
    const prefill = Math.min(...rs.map((x) => x.prefillMs));
    const decode = Math.min(...rs.map((x) => x.decodeMs / x.decodeSteps));
    return {
      prefillTps: o.prompt / (prefill / 1000),
      decodeTps: 1000 / decode,
      msPerToken: decode,
      peakRssMB: Math.max(...rs.map((x) => x.peakRss)) / 1e6,
      loadMs: Math.min(...rs.map((x) => x.loadMs)),
      tokenIds: rs[0].tokenIds,
    };
  };
  const T = Object.fromEntries(runs.map((r) => [r.key, tally(r.key)])) as Record<string, Tally>;
  const pairs = [
    { label: 'fp32 vs F32', ours: 'lookout-fp32', theirs: 'llamacpp-F32' },
    { label: 'int4 vs Q4_0', ours: 'lookout-int4', theirs: 'llamacpp-Q4_0' },
    { label: 'int4 vs Q8_0', ours: 'lookout-int4', theirs: 'llamacpp-Q8_0' },
    { label: 'fp32 prepacked vs F32', ours: 'lookout-fp32-prepacked', theirs: 'llamacpp-F32' },
    { label: 'int4 (4-bit head) vs Q4_0', ours: 'lookout-int4-head4', theirs: 'llamacpp-Q4_0' },
  ];
  const shape = `${o.size}, ${o.prompt}-token prompt, ${o.tokens} greedy tokens, ${o.threads} threads, int4 blocks of ${o.int4Block}`;
  for (const p of pairs.filter((x) => T[x.ours] && T[x.theirs])) {
    const a = T[p.ours];
    const b = T[p.theirs];
    report({ name: `prefill tokens/s, Lookout ${p.label}`, value: a.prefillTps, unit: 'tok/s', baseline: { name: `llama.cpp ${p.theirs.split('-')[1]}`, value: b.prefillTps }, note: shape });
    report({ name: `decode tokens/s, Lookout ${p.label}`, value: a.decodeTps, unit: 'tok/s', baseline: { name: `llama.cpp ${p.theirs.split('-')[1]}`, value: b.decodeTps }, note: `${a.msPerToken.toFixed(1)} vs ${b.msPerToken.toFixed(1)} ms/token` });
    report({ name: `peak RSS, Lookout ${p.label}`, value: a.peakRssMB, unit: 'MB', baseline: { name: `llama.cpp ${p.theirs.split('-')[1]}`, value: b.peakRssMB }, note: 'whole child process, node included' });
    report({ name: `load time, Lookout ${p.label}`, value: a.loadMs, unit: 'ms', baseline: { name: `llama.cpp ${p.theirs.split('-')[1]}`, value: b.loadMs } });
  }
  const same = (x: number[], y: number[]) => x.findIndex((v, i) => v !== y[i]);
  const agree = T['lookout-fp32'] && T['llamacpp-F32'] ? same(T['lookout-fp32'].tokenIds, T['llamacpp-F32'].tokenIds) : undefined;
  if (agree !== undefined) log(`greedy tokens, Lookout fp32 vs llama.cpp F32: ${agree < 0 ? `all ${o.tokens} identical` : `first difference at token ${agree}`}`);
  if (o.json) {
    const ratio = (a: string, b: string, f: keyof Tally) => (T[a] && T[b] ? (T[a][f] as number) / (T[b][f] as number) : undefined);
    const out = {
      size: o.size,
      prompt: o.prompt,
      tokens: o.tokens,
      threads: o.threads,
      rounds: o.rounds,
      int4Block: o.int4Block,
      decodeRatioInt4: ratio('lookout-int4', 'llamacpp-Q4_0', 'decodeTps'),
      prefillRatioInt4: ratio('lookout-int4', 'llamacpp-Q4_0', 'prefillTps'),
      decodeRatioFp32: ratio('lookout-fp32', 'llamacpp-F32', 'decodeTps'),
      prefillRatioFp32: ratio('lookout-fp32', 'llamacpp-F32', 'prefillTps'),
      rssRatioFp32: ratio('lookout-fp32', 'llamacpp-F32', 'peakRssMB'),
      rssRatioInt4: ratio('lookout-int4', 'llamacpp-Q4_0', 'peakRssMB'),
      loadRatioFp32: ratio('lookout-fp32', 'llamacpp-F32', 'loadMs'),
      loadRatioInt4: ratio('lookout-int4', 'llamacpp-Q4_0', 'loadMs'),
      decodeRatioInt4VsQ8_0: ratio('lookout-int4', 'llamacpp-Q8_0', 'decodeTps'),
      decodeRatioFp32Prepacked: ratio('lookout-fp32-prepacked', 'llamacpp-F32', 'decodeTps'),
      rssRatioFp32Prepacked: ratio('lookout-fp32-prepacked', 'llamacpp-F32', 'peakRssMB'),
      decodeRatioInt4Head4: ratio('lookout-int4-head4', 'llamacpp-Q4_0', 'decodeTps'),
      prefillRatioInt4Head4: ratio('lookout-int4-head4', 'llamacpp-Q4_0', 'prefillTps'),
      rssRatioInt4Head4: ratio('lookout-int4-head4', 'llamacpp-Q4_0', 'peakRssMB'),
      fp32RssOverWeights: T['lookout-fp32'] ? T['lookout-fp32'].peakRssMB / (dirBytes(onnx.fp32) / 1e6) : undefined,
      greedyFp32FirstDifference: agree,
      engines: Object.fromEntries(Object.entries(T).map(([k, v]) => [k, { ...v, tokenIds: undefined }])),
    };
    console.log(JSON.stringify(out, null, 2));
  }
};

export default bench;
