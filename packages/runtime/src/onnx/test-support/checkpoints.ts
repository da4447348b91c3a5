import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsIndex, writeSafetensors, f32ToBf16Bits, bf16BitsToF32 } from '../../weights/index.js';

/** Deterministic N(0,1) samples (mulberry32 + Box-Muller). */
export function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

export interface TinyLlamaOptions {
  seed?: number;
  dtype?: 'F32' | 'BF16';
  tied?: boolean;
  vocab?: number;
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  intermediate?: number;
}

/** Writes a random LlamaForCausalLM checkpoint (config.json + model.safetensors) in HF layout. */
export async function writeTinyLlama(dir: string, o: TinyLlamaOptions = {}): Promise<void> {
  const { seed = 7, dtype = 'F32', tied = false, vocab = 384, hidden = 32, layers = 3, heads = 4, kvHeads = 2, intermediate = 64 } = o;
  mkdirSync(dir, { recursive: true });
  const hd = hidden / heads;
  const rnd = gaussian(seed);
  const tensors: Array<{ name: string; dtype: 'F32' | 'BF16'; shape: number[]; data: Float32Array }> = [];
  const add = (name: string, shape: number[], f: () => number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, dtype, shape, data: Float32Array.from({ length: n }, f) });
  };
  const lin = (name: string, out: number, inF: number) => add(name, [out, inF], () => rnd() / Math.sqrt(inF));
  const norm = (name: string) => add(name, [hidden], () => 1 + 0.2 * rnd());
  add('model.embed_tokens.weight', [vocab, hidden], () => rnd());
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    norm(`${p}.input_layernorm.weight`);
    norm(`${p}.post_attention_layernorm.weight`);
    lin(`${p}.self_attn.q_proj.weight`, heads * hd, hidden);
    lin(`${p}.self_attn.k_proj.weight`, kvHeads * hd, hidden);
    lin(`${p}.self_attn.v_proj.weight`, kvHeads * hd, hidden);
    lin(`${p}.self_attn.o_proj.weight`, hidden, heads * hd);
    lin(`${p}.mlp.gate_proj.weight`, intermediate, hidden);
    lin(`${p}.mlp.up_proj.weight`, intermediate, hidden);
    lin(`${p}.mlp.down_proj.weight`, hidden, intermediate);
  }
  norm('model.norm.weight');
  if (!tied) add('lm_head.weight', [vocab, hidden], () => (4 * rnd()) / Math.sqrt(hidden));
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: hidden,
    intermediate_size: intermediate,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: hd,
    vocab_size: vocab,
    max_position_embeddings: 131072,
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
    rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
    hidden_act: 'silu',
    tie_word_embeddings: tied,
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: dtype === 'BF16' ? 'bfloat16' : 'float32',
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
}

/**
 * Copies a reference case's checkpoint with every weight rounded to bf16, stored either as
 * BF16 or widened back to F32: both must build to the same numbers.
 */
export async function writeBf16Variant(caseDir: string, dir: string, storeAs: 'BF16' | 'F32'): Promise<void> {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(caseDir, 'config.json'), join(dir, 'config.json'));
  const src = await SafetensorsIndex.open(caseDir);
  try {
    const tensors: Array<{ name: string; dtype: 'F32' | 'BF16'; shape: number[]; data: Float32Array }> = [];
    for (const t of src.tensors) {
      const rounded = bf16BitsToF32(f32ToBf16Bits(await src.readTensor(t.name)));
      tensors.push({ name: t.name, dtype: storeAs, shape: t.shape, data: rounded });
    }
    await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  } finally {
    await src.close();
  }
}

/** Every tensor of a checkpoint directory, read once (tiny models only). */
export async function loadAllWeights(dir: string): Promise<(name: string) => Float32Array> {
  const src = await SafetensorsIndex.open(dir);
  const map = new Map<string, Float32Array>();
  try {
    for (const t of src.tensors) map.set(t.name, await src.readTensor(t.name));
  } finally {
    await src.close();
  }
  return (name: string) => {
    const v = map.get(name);
    if (!v) throw new Error(`no tensor ${name}`);
    return v;
  };
}

/**
 * Copies a checkpoint with each tensor replaced by `transform(name, values)` (same dtype F32).
 * Used to write "what the fp16/int4 build sees" as a plain f32 checkpoint.
 */
export async function writeTransformed(
  srcDir: string,
  dir: string,
  transform: (name: string, shape: number[], v: Float32Array) => Float32Array,
  keep: (name: string) => boolean = () => true,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(srcDir, 'config.json'), join(dir, 'config.json'));
  const src = await SafetensorsIndex.open(srcDir);
  try {
    const tensors: Array<{ name: string; dtype: 'F32'; shape: number[]; data: Float32Array }> = [];
    for (const t of src.tensors.filter((x) => keep(x.name))) tensors.push({ name: t.name, dtype: 'F32', shape: t.shape, data: transform(t.name, t.shape, await src.readTensor(t.name)) });
    await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  } finally {
    await src.close();
  }
}
