// CUDA against CPU, and whether the KV cache stays on the GPU while the in-graph decode loop runs.
//
// For a tiny checkpoint (tiny-a sizes) and a mid-size random one (~0.5 B parameters), each built
// as fp32 with the fused contrib ops, fp32 with plain ONNX ops, and fp16:
// - greedy tokens/s on CUDA against CPU, one forward run per token and in-graph chunks of 16
//   (prefill excluded; median of interleaved rounds);
// - from onnxruntime's profile of one CUDA generation per path: host<->device copy nodes per
//   generated token, copies per Loop iteration, and whether any KV-cache-sized copy happens
//   inside Loop iterations or a cache kernel runs on the CPU ("KV cache stayed on device").
// Without a usable CUDA provider it prints why it skipped and exits 0 (install: `pnpm cuda:install`).
//
// Environment:
//   BENCH_CUDA_MODELS=tiny,mid          which checkpoints (default both; tiny only in a dry run)
//   BENCH_CUDA_BUILDS=fp32,fp32-plain,fp16,int4-f16
//   BENCH_CUDA_TOKENS=64                tokens per generation
//   BENCH_CUDA_ROUNDS=3                 interleaved timing rounds
//   BENCH_CUDA_DRY_RUN=1                CPU stands in for the device: checks the bench itself on a
//                                       machine without a GPU; its figures say nothing about CUDA.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  analyzeDeviceCopies,
  asProviderError,
  assertExecutionProvider,
  buildModel,
  ExecutionProviderUnavailableError,
  expectedParameters,
  findProfileFiles,
  generate,
  kvCacheResidency,
  LlamaTokenizer,
  OnnxEngine,
  parseModelConfig,
  readProfile,
  writeTinyCheckpoint,
  type BuildDtype,
  type DeviceCopyReport,
  type ForwardEngine,
  type OnnxEngineOptions,
  type TinyCheckpointOptions,
} from '@lookout/runtime';
import type { Bench, BenchRow } from './report.js';

const CHUNK = 16;
const TOKENS = intEnv('BENCH_CUDA_TOKENS', 64);
const ROUNDS = intEnv('BENCH_CUDA_ROUNDS', 3);
const DRY_RUN = process.env.BENCH_CUDA_DRY_RUN === '1';
const INSTALL = 'pnpm cuda:install';

interface ModelCase {
  key: string;
  options: TinyCheckpointOptions;
}

const MODELS: ModelCase[] = [
  { key: 'tiny', options: { arch: 'mllama', seed: 1 } },
  // ~0.5 B parameters: 16 layers (3 cross-attention, 13 with a KV cache), hidden 1024, head dim
  // 64 (GroupQueryAttention in the fused build), the real 128256-token vocabulary.
  { key: 'mid', options: { arch: 'mllama', seed: 1, hidden: 1024, layers: 16, heads: 16, kvHeads: 4, intermediate: 4096, crossAttentionLayers: [3, 8, 13] } },
];

interface BuildCase {
  key: string;
  dtype: BuildDtype;
  fused: boolean;
  compute?: 'f32' | 'f16';
}

const BUILDS: BuildCase[] = [
  { key: 'fp32', dtype: 'fp32', fused: true },
  { key: 'fp32-plain', dtype: 'fp32', fused: false },
  { key: 'fp16', dtype: 'fp16', fused: true },
  { key: 'int4-f16', dtype: 'int4', fused: true, compute: 'f16' },
];

// The engine has no profiling option; its sessions are created through onnxruntime-node's
// InferenceSession.create, which this file wraps while a profiled engine loads. The runtime
// package owns the onnxruntime-node dependency, so it is resolved from there (the same module
// instance the engine uses).
interface ProfiledSession {
  endProfiling(): void;
}
type CreateSession = (model: unknown, options?: Record<string, unknown>) => Promise<ProfiledSession>;
const runtimeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../packages/runtime');
const { InferenceSession } = createRequire(path.join(runtimeDir, 'package.json'))('onnxruntime-node') as { InferenceSession: { create: CreateSession } };

/** Loads an engine whose decoder session writes an onnxruntime profile under `profileDir`. */
async function loadProfiledEngine(buildDir: string, options: OnnxEngineOptions, profileDir: string) {
  const original = InferenceSession.create;
  const sessions: Array<{ session: ProfiledSession; prefix: string }> = [];
  InferenceSession.create = async (model, sessionOptions) => {
    if (typeof model !== 'string') return original.call(InferenceSession, model, sessionOptions);
    const prefix = path.join(profileDir, path.basename(model, '.onnx'));
    const session = await original.call(InferenceSession, model, { ...sessionOptions, enableProfiling: true, profileFilePrefix: prefix });
    sessions.push({ session, prefix });
    return session;
  };
  let engine: OnnxEngine;
  try {
    engine = await OnnxEngine.load(buildDir, options);
  } finally {
    InferenceSession.create = original;
  }
  return {
    engine,
    /** Ends profiling and reads the decoder's profile. */
    async finish() {
      for (const { session } of sessions) session.endProfiling();
      await engine.dispose();
      const decoder = sessions.find((s) => path.basename(s.prefix) === 'decoder');
      if (!decoder) throw new Error(`no decoder session was created from ${buildDir}`);
      return readProfile(findProfileFiles(decoder.prefix).at(-1)!);
    },
  };
}

interface Generation {
  /** Tokens per second after the prefill (the first token is chosen from the prefill's logits). */
  tokensPerS: number;
  tokenIds: number[];
  /** Bytes fed to and fetched from onnxruntime by the decode runs. */
  stepBytes: number;
}

async function greedy(engine: OnnxEngine, tokenizer: LlamaTokenizer, inputIds: number[], decodeChunk: number, tokens = TOKENS): Promise<Generation> {
  // Decode timing starts when the prefill returns: tokens of a chunk are only delivered once the
  // whole chunk has run, so the first delivered token would come too late to start the clock.
  let decodeFrom = 0;
  const timed: ForwardEngine = {
    vocabSize: engine.vocabSize,
    prefill: async (...args: Parameters<ForwardEngine['prefill']>) => {
      const session = await engine.prefill(...args);
      decodeFrom = performance.now();
      return session;
    },
    dispose: () => engine.dispose(),
  };
  const result = await generate(timed, tokenizer, { inputIds, maxTokens: tokens, decodeChunk, sampling: { temperature: 0 }, stop: ['\u0000never'] });
  const ms = performance.now() - decodeFrom;
  if (result.tokenIds.length !== tokens) throw new Error(`expected ${tokens} tokens, got ${result.tokenIds.length}`);
  if (decodeChunk > 1 && result.decodeChunks === 0) throw new Error('the engine did not decode in chunks (no in-graph loop in this build?)');
  return { tokensPerS: tokens / (ms / 1000), tokenIds: result.tokenIds, stepBytes: result.stepTransferBytes };
}

/** A baseline only where a ratio means something (0 copies against 0 copies has none). */
const against = (name: string, value: number): Pick<BenchRow, 'baseline'> => (value > 0 ? { baseline: { name, value } } : {});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function commonPrefix(a: number[], b: number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 2) throw new Error(`${name} must be an integer >= 2, got ${JSON.stringify(raw)}`);
  return n;
}

function pick<T extends { key: string }>(name: string, all: T[], fallback: string[]): T[] {
  const keys = (process.env[name] ?? fallback.join(',')).split(',').map((k) => k.trim()).filter(Boolean);
  const unknown = keys.filter((k) => !all.some((c) => c.key === k));
  if (unknown.length) throw new Error(`${name}: unknown ${unknown.join(', ')}; use a comma-separated list of ${all.map((c) => c.key).join(', ')}`);
  return all.filter((c) => keys.includes(c.key));
}

/** Why CUDA cannot be used here, or undefined when its provider library is installed. */
function cudaMissing(): string | undefined {
  try {
    assertExecutionProvider('cuda');
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function skipRows(report: (row: BenchRow) => void, reason: string): void {
  report({ name: 'CUDA provider unavailable, measurements skipped', value: 0, unit: 'rows', note: reason });
  report({ name: `to measure: ${INSTALL} on a machine with an NVIDIA GPU (CUDA 12, cuDNN 9), then pnpm bench cuda`, value: 0, unit: 'rows', note: 'docs/cuda.md' });
}

const bench: Bench = async (report) => {
  if (!DRY_RUN) {
    const missing = cudaMissing();
    if (missing) return skipRows(report, missing);
  }
  const device = DRY_RUN ? 'cpu' : 'cuda';
  const deviceName = DRY_RUN ? 'CPU standing in for CUDA (dry run)' : 'CUDA';
  const deviceProvider = DRY_RUN ? 'CPUExecutionProvider' : 'CUDAExecutionProvider';
  const models = pick('BENCH_CUDA_MODELS', MODELS, DRY_RUN ? ['tiny'] : ['tiny', 'mid']);
  const builds = pick('BENCH_CUDA_BUILDS', BUILDS, BUILDS.map((b) => b.key));
  const work = mkdtempSync(path.join(tmpdir(), 'lookout-bench-cuda-'));
  try {
    for (const model of models) {
      const dir = path.join(work, model.key);
      await writeTinyCheckpoint(dir, model.options);
      const config = parseModelConfig(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')), 'config.json');
      const params = expectedParameters(config).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
      report({ name: `${model.key}: parameters`, value: params / 1e6, unit: 'M', note: `hidden ${config.text.hidden}, ${config.text.layers} layers, ${config.text.heads}/${config.text.kvHeads} heads` });
      const tokenizer = await LlamaTokenizer.fromDirectory(dir);
      const inputIds = tokenizer.encode('<|begin_of_text|>A customer sent a photo of a parcel with a crushed corner. Describe the damage and what to do next.', { allowSpecial: true });

      for (const build of builds) {
        const label = `${model.key} ${build.key}`;
        const buildDir = path.join(dir, `onnx-${build.key}`);
        const built = await buildModel(dir, { dtype: build.dtype, fused: build.fused, compute: build.compute, outDir: buildDir });
        const cpu = await OnnxEngine.load(buildDir, { executionProvider: 'cpu', prefixCache: false });
        let gpu: OnnxEngine;
        try {
          gpu = await OnnxEngine.load(buildDir, { executionProvider: device, prefixCache: false });
        } catch (error) {
          await cpu.dispose();
          const typed = asProviderError(error, 'cuda');
          if (typed instanceof ExecutionProviderUnavailableError) return skipRows(report, typed.message);
          throw typed;
        }

        // Warm-up (CUDA kernels and allocations happen on the first runs), then interleaved rounds.
        for (const e of [cpu, gpu]) for (const c of [1, CHUNK]) await greedy(e, tokenizer, inputIds, c, Math.min(TOKENS, CHUNK + 2));
        const speed = { cpu1: [] as number[], cpuN: [] as number[], gpu1: [] as number[], gpuN: [] as number[] };
        let cpuTokens: number[] = [];
        let gpuTokens: number[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          speed.cpu1.push((await greedy(cpu, tokenizer, inputIds, 1)).tokensPerS);
          speed.gpu1.push((await greedy(gpu, tokenizer, inputIds, 1)).tokensPerS);
          const c = await greedy(cpu, tokenizer, inputIds, CHUNK);
          const g = await greedy(gpu, tokenizer, inputIds, CHUNK);
          speed.cpuN.push(c.tokensPerS);
          speed.gpuN.push(g.tokensPerS);
          cpuTokens = c.tokenIds;
          gpuTokens = g.tokenIds;
        }
        await cpu.dispose();
        await gpu.dispose();
        const timing = `median of ${ROUNDS} interleaved rounds x ${TOKENS} greedy tokens, timed from the end of the prefill`;
        report({
          name: `tokens/s, ${label}, ${deviceName}, one forward run per token`,
          value: median(speed.gpu1),
          unit: 'tokens/s',
          baseline: { name: 'CPU, one forward run per token', value: median(speed.cpu1) },
          note: timing,
        });
        report({
          name: `tokens/s, ${label}, ${deviceName}, in-graph loop, chunks of ${CHUNK}`,
          value: median(speed.gpuN),
          unit: 'tokens/s',
          baseline: { name: `CPU, chunks of ${CHUNK}`, value: median(speed.cpuN) },
          note: timing,
        });
        report({
          name: `tokens/s, ${label}, ${deviceName}, chunks of ${CHUNK} against one run per token`,
          value: median(speed.gpuN),
          unit: 'tokens/s',
          baseline: { name: `${deviceName}, one forward run per token`, value: median(speed.gpu1) },
        });
        const same = commonPrefix(cpuTokens, gpuTokens);
        report({
          name: `greedy tokens equal to CPU's, ${label}, ${deviceName}`,
          value: same,
          unit: `of ${TOKENS} tokens`,
          note: same === TOKENS ? 'identical' : `first difference at token ${same} (random weights have close logits; fp32 on CUDA may use TF32)`,
        });

        // One profiled generation per path, each on its own freshly loaded engine.
        const kv = { numKvHeads: built.manifest.spec.text.numKvHeads, headDim: built.manifest.spec.text.headDim };
        const profileRun = async (decodeChunk: number) => {
          const profiled = await loadProfiledEngine(buildDir, { executionProvider: device, prefixCache: false }, mkdtempSync(path.join(work, 'profile-')));
          let generation: Generation;
          try {
            generation = await greedy(profiled.engine, tokenizer, inputIds, decodeChunk);
          } catch (error) {
            await profiled.finish().catch(() => {});
            throw error;
          }
          const events = await profiled.finish();
          return { copies: analyzeDeviceCopies(events), kv: kvCacheResidency(events, kv, deviceProvider), stepBytes: generation.stepBytes };
        };
        const one = await profileRun(1);
        const chunk = await profileRun(CHUNK);
        const onDevice = chunk.copies.kernelsByProvider[deviceProvider] ?? 0;
        if (onDevice === 0) {
          report({ name: `${label}: no kernel ran on ${deviceProvider}`, value: 0, unit: 'kernels', note: `providers seen: ${JSON.stringify(chunk.copies.kernelsByProvider)}; the device rows below mean nothing` });
        }
        const perToken = (r: DeviceCopyReport) => ({ count: (r.graph.count + r.loopBody.count) / TOKENS, bytes: (r.graph.bytes + r.loopBody.bytes) / TOKENS });
        const p1 = perToken(one.copies);
        const pN = perToken(chunk.copies);
        report({
          name: `device copy nodes per generated token, ${label}, ${deviceName}, chunks of ${CHUNK}`,
          value: pN.count,
          unit: 'copies',
          ...against('one forward run per token', p1.count),
          note: `${TOKENS} tokens, prefill included; ${pN.bytes.toFixed(0)} B vs ${p1.bytes.toFixed(0)} B per token with one run per token`,
        });
        report({
          name: `device copy bytes per generated token, ${label}, ${deviceName}, chunks of ${CHUNK}`,
          value: pN.bytes,
          unit: 'B',
          ...against('one forward run per token', p1.bytes),
        });
        const body = chunk.copies.loopBody;
        const perIt = (n: number) => (body.iterations ? (n / body.iterations).toFixed(1) : '0');
        const loopKernels = chunk.copies.loops.reduce<Record<string, number>>((acc, l) => {
          for (const [p, n] of Object.entries(l.kernelsByProvider)) acc[p] = (acc[p] ?? 0) + n;
          return acc;
        }, {});
        report({
          name: `copy nodes per Loop iteration, ${label}, ${deviceName}`,
          value: body.perIteration.count,
          unit: 'copies',
          note: `${body.perIteration.bytes.toFixed(0)} B per iteration, largest ${body.largest} B, ${body.iterations} iterations; kernels per iteration: ${Object.entries(loopKernels)
            .map(([p, n]) => `${perIt(n)} on ${p.replace('ExecutionProvider', '')}`)
            .join(', ')}`,
        });
        report({
          name: `bytes fed to and fetched from onnxruntime per generated token, ${label}, chunks of ${CHUNK}`,
          value: chunk.stepBytes / TOKENS,
          unit: 'B',
          baseline: { name: 'one forward run per token', value: one.stepBytes / TOKENS },
          note: 'crosses host<->device around each run (not copy nodes): the KV cache once per run',
        });
        const verdict = chunk.kv.stayedOnDevice === undefined ? 'unknown (no Loop iteration ran)' : chunk.kv.stayedOnDevice && onDevice > 0 ? 'yes' : 'no';
        report({
          name: `KV cache stayed on device: ${verdict}, ${label}, ${deviceName}`,
          value: chunk.kv.copiesInLoop.length,
          unit: `KV-sized copies in ${chunk.kv.iterations} Loop iterations`,
          note: chunk.kv.hostKernels.length ? `cache kernels off the device: ${chunk.kv.hostKernels.join(', ')}` : `every cache kernel in the loop ran on ${deviceProvider}`,
        });
      }
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
};

export default bench;
