// ONNX builder: throughput (MB of checkpoint per second) against a plain read+write copy of the
// same file in the same process, and the builder's peak RSS for two checkpoint sizes (each build
// runs in a child process so its peak is its own). BENCH_BIG=1 uses ~2 GB and ~4 GB checkpoints.
import { execSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel, SafetensorsWriter, type TensorDeclaration } from '@lookout/runtime';
import type { Bench } from './report.js';

interface Shape {
  hidden: number;
  intermediate: number;
  layers: number;
  vocab: number;
  heads: number;
  kvHeads: number;
}

/** Streams a random LlamaForCausalLM checkpoint to disk, one tensor in memory at a time. */
async function writeRandomLlama(dir: string, s: Shape): Promise<number> {
  const hd = s.hidden / s.heads;
  const decls: TensorDeclaration[] = [{ name: 'model.embed_tokens.weight', dtype: 'F32', shape: [s.vocab, s.hidden] }];
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    decls.push(
      { name: `${p}.input_layernorm.weight`, dtype: 'F32', shape: [s.hidden] },
      { name: `${p}.post_attention_layernorm.weight`, dtype: 'F32', shape: [s.hidden] },
      { name: `${p}.self_attn.q_proj.weight`, dtype: 'F32', shape: [s.heads * hd, s.hidden] },
      { name: `${p}.self_attn.k_proj.weight`, dtype: 'F32', shape: [s.kvHeads * hd, s.hidden] },
      { name: `${p}.self_attn.v_proj.weight`, dtype: 'F32', shape: [s.kvHeads * hd, s.hidden] },
      { name: `${p}.self_attn.o_proj.weight`, dtype: 'F32', shape: [s.hidden, s.heads * hd] },
      { name: `${p}.mlp.gate_proj.weight`, dtype: 'F32', shape: [s.intermediate, s.hidden] },
      { name: `${p}.mlp.up_proj.weight`, dtype: 'F32', shape: [s.intermediate, s.hidden] },
      { name: `${p}.mlp.down_proj.weight`, dtype: 'F32', shape: [s.hidden, s.intermediate] },
    );
  }
  decls.push({ name: 'model.norm.weight', dtype: 'F32', shape: [s.hidden] }, { name: 'lm_head.weight', dtype: 'F32', shape: [s.vocab, s.hidden] });
  const path = join(dir, 'model.safetensors');
  const writer = await SafetensorsWriter.create(path, decls);
  let seed = 1;
  for (const d of decls) {
    const n = d.shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    const scale = d.shape.length === 1 ? 0 : 1 / Math.sqrt(d.shape[1]);
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      v[i] = d.shape.length === 1 ? 1 : ((seed / 4294967296) * 2 - 1) * scale;
    }
    await writer.write(d.name, v);
  }
  await writer.close();
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: s.hidden,
      intermediate_size: s.intermediate,
      num_hidden_layers: s.layers,
      num_attention_heads: s.heads,
      num_key_value_heads: s.kvHeads,
      vocab_size: s.vocab,
      rms_norm_eps: 1e-5,
      rope_theta: 500000,
      hidden_act: 'silu',
      tie_word_embeddings: false,
    }),
  );
  return statSync(path).size;
}

/** The baseline: the same bytes read and written in 16 MB pieces. */
function plainCopy(from: string, to: string): void {
  const src = openSync(from, 'r');
  const dst = openSync(to, 'w');
  const buf = Buffer.alloc(16 << 20);
  let pos = 0;
  for (;;) {
    const n = readSync(src, buf, 0, buf.length, pos);
    if (n <= 0) break;
    writeSync(dst, buf, 0, n, pos);
    pos += n;
  }
  closeSync(src);
  closeSync(dst);
}

/** Child mode: build one checkpoint and print the peak RSS. */
if (process.env.LOOKOUT_BUILDER_CHILD) {
  const [modelDir, outDir] = process.env.LOOKOUT_BUILDER_CHILD.split('|');
  const t0 = performance.now();
  // "idle" measures the same process without building: the RSS of node + the loaded modules.
  if (modelDir !== 'idle') await buildModel(modelDir, { outDir, dtype: 'fp32' });
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ maxRssMB: process.resourceUsage().maxRSS / 1024, seconds }) + '\n');
  process.exit(0);
}

function childBuild(modelDir: string, outDir: string): { maxRssMB: number; seconds: number } {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--import', 'tsx', self], {
    env: { ...process.env, LOOKOUT_BUILDER_CHILD: `${modelDir}|${outDir}` },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`builder child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const bench: Bench = async (report) => {
  const big = process.env.BENCH_BIG === '1';
  const base = big
    ? { hidden: 2048, intermediate: 8192, vocab: 32000, heads: 16, kvHeads: 4 }
    : { hidden: 1024, intermediate: 4096, vocab: 32000, heads: 16, kvHeads: 4 };
  const sizes = big ? [6, 14] : [1, 5];
  for (const layers of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-builder-bench-'));
    try {
      const bytes = await writeRandomLlama(dir, { ...base, layers });
      const mb = bytes / 1e6;
      const label = `${(bytes / 1e9).toFixed(2)} GB F32 checkpoint`;

      // Best of two copies: the first can overlap the write-back of the file just generated.
      let copyMBs = 0;
      let t = 0;
      for (let i = 0; i < 2; i++) {
        execSync('sync'); // start each timed run with no dirty pages from the previous one
        t = performance.now();
        plainCopy(join(dir, 'model.safetensors'), join(dir, 'copy.bin'));
        copyMBs = Math.max(copyMBs, mb / ((performance.now() - t) / 1000));
        rmSync(join(dir, 'copy.bin'));
      }

      execSync('sync');
      t = performance.now();
      await buildModel(dir, { outDir: join(dir, 'onnx-inproc'), dtype: 'fp32' });
      const buildMBs = mb / ((performance.now() - t) / 1000);
      rmSync(join(dir, 'onnx-inproc'), { recursive: true });
      report({ name: `builder throughput, ${label}`, value: buildMBs, unit: 'MB/s', baseline: { name: 'plain read+write copy', value: copyMBs } });

      const child = childBuild(dir, join(dir, 'onnx'));
      const idle = childBuild('idle', '');
      const largestMB = (base.vocab * base.hidden * 4) / 1e6;
      report({
        name: `builder peak RSS, ${label}`,
        value: child.maxRssMB,
        unit: 'MB',
        baseline: { name: 'same process without building', value: idle.maxRssMB },
        note: `largest tensor ${largestMB.toFixed(0)} MB; ${existsSync(join(dir, 'onnx')) ? 'built' : 'missing'}`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
};

export default bench;
