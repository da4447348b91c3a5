import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VisionInputs } from '../model/engine.js';
import type { ModelSpec } from '../onnx/config.js';
import { mulberry32 } from '../sampling/prng.js';
import { SafetensorsIndex, writeSafetensors, f32ToBf16Bits, bf16BitsToF32 } from '../weights/index.js';

/** Deterministic N(0,1) samples (mulberry32 + Box-Muller). */
export function gaussian(seed: number): () => number {
  const uniform = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Vision inputs for two images of up to 4 tiles each: the first `tiles[i]` tiles of image i
 * hold clamped N(0,1) pixels drawn from `seed`, the rest are zero; `row(t)` is token t's
 * [image][tile] cross-attention mask.
 */
export function twoImageVision(
  spec: ModelSpec,
  o: { seed: number; tiles: [number, number]; aspectRatioIds: [number, number]; ids: number[]; row: (t: number) => number[][] },
): VisionInputs {
  const S = spec.vision!.imageSize;
  const rnd = gaussian(o.seed);
  const pixels = new Float32Array(2 * 4 * 3 * S * S);
  for (let img = 0; img < 2; img++)
    for (let t = 0; t < o.tiles[img]; t++) {
      const base = (img * 4 + t) * 3 * S * S;
      for (let i = 0; i < 3 * S * S; i++) pixels[base + i] = Math.max(-1.8, Math.min(2.2, rnd()));
    }
  return {
    pixelValues: pixels,
    numImages: 2,
    maxTiles: 4,
    tileSize: S,
    aspectRatioIds: o.aspectRatioIds,
    aspectRatioMask: o.tiles.map((n) => [0, 1, 2, 3].map((i) => (i < n ? 1 : 0))),
    crossAttentionMask: o.ids.map((_, t) => o.row(t)),
  };
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

export interface TinyMllamaOptions {
  seed?: number;
  dtype?: 'F32' | 'BF16';
  /** Text: hidden, heads, kv heads, layers, cross layers. */
  hidden?: number;
  heads?: number;
  kvHeads?: number;
  layers?: number;
  crossLayers?: number[];
  intermediate?: number;
  /** Vision: hidden, heads, local + global layers, tile size (a multiple of 14). */
  visionHidden?: number;
  visionHeads?: number;
  visionLayers?: number;
  globalLayers?: number;
  imageSize?: number;
  intermediateLayers?: number[];
}

/**
 * Writes a random MllamaForConditionalGeneration checkpoint in the 4.45 layout (real parameter
 * names, vocabulary 128256 + 8 embedding rows), with every gate nonzero so all paths count.
 */
export async function writeTinyMllama(dir: string, o: TinyMllamaOptions = {}): Promise<void> {
  const {
    seed = 21, dtype = 'F32', hidden = 64, heads = 4, kvHeads = 2, layers = 4, crossLayers = [1, 3], intermediate = 96,
    visionHidden = 32, visionHeads = 2, visionLayers = 3, globalLayers = 2, imageSize = 56, intermediateLayers = [1, 2],
  } = o;
  mkdirSync(dir, { recursive: true });
  const rnd = gaussian(seed);
  const hd = hidden / heads;
  const tensors: Array<{ name: string; dtype: 'F32' | 'BF16'; shape: number[]; data: Float32Array }> = [];
  const add = (name: string, shape: number[], f: () => number) =>
    tensors.push({ name, dtype, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, f) });
  const lin = (name: string, out: number, inF: number) => add(name, [out, inF], () => rnd() / Math.sqrt(inF));
  const vec = (name: string, n: number, f: () => number) => add(name, [n], f);
  const gate = (name: string) => add(name, [1], () => (rnd() > 0 ? 1 : -1) * (0.5 + Math.abs(rnd()) % 1));
  const t = 'language_model.model';
  add(`${t}.embed_tokens.weight`, [128264, hidden], () => rnd());
  add('language_model.lm_head.weight', [128256, hidden], () => (4 * rnd()) / Math.sqrt(hidden));
  vec(`${t}.norm.weight`, hidden, () => 1 + 0.2 * rnd());
  for (let l = 0; l < layers; l++) {
    const p = `${t}.layers.${l}`;
    const a = crossLayers.includes(l) ? `${p}.cross_attn` : `${p}.self_attn`;
    vec(`${p}.input_layernorm.weight`, hidden, () => 1 + 0.2 * rnd());
    vec(`${p}.post_attention_layernorm.weight`, hidden, () => 1 + 0.2 * rnd());
    lin(`${a}.q_proj.weight`, heads * hd, hidden);
    lin(`${a}.k_proj.weight`, kvHeads * hd, hidden);
    lin(`${a}.v_proj.weight`, kvHeads * hd, hidden);
    lin(`${a}.o_proj.weight`, hidden, heads * hd);
    lin(`${p}.mlp.gate_proj.weight`, intermediate, hidden);
    lin(`${p}.mlp.up_proj.weight`, intermediate, hidden);
    lin(`${p}.mlp.down_proj.weight`, hidden, intermediate);
    if (crossLayers.includes(l)) {
      vec(`${a}.q_norm.weight`, hd, () => 1 + 0.2 * rnd());
      vec(`${a}.k_norm.weight`, hd, () => 1 + 0.2 * rnd());
      gate(`${p}.cross_attn_attn_gate`);
      gate(`${p}.cross_attn_mlp_gate`);
    }
  }
  const v = 'vision_model';
  const D = visionHidden;
  const P = (imageSize / 14) ** 2 + 1;
  const vod = D * (intermediateLayers.length + 1);
  add(`${v}.patch_embedding.weight`, [D, 3, 14, 14], () => rnd() / Math.sqrt(3 * 14 * 14));
  vec(`${v}.class_embedding`, D, () => 0.5 * rnd());
  add(`${v}.gated_positional_embedding.embedding`, [P, D], () => 0.5 * rnd());
  gate(`${v}.gated_positional_embedding.gate`);
  add(`${v}.gated_positional_embedding.tile_embedding.weight`, [9, 4 * P * D], () => 0.5 * rnd());
  for (const e of ['pre', 'post']) {
    add(`${v}.${e}_tile_positional_embedding.embedding.weight`, [9, 4 * D], () => 0.5 * rnd());
    gate(`${v}.${e}_tile_positional_embedding.gate`);
  }
  for (const n of ['layernorm_pre', 'layernorm_post']) {
    vec(`${v}.${n}.weight`, D, () => 1 + 0.2 * rnd());
    vec(`${v}.${n}.bias`, D, () => 0.1 * rnd());
  }
  const encoder = (prefix: string, count: number, gated: boolean) => {
    for (let l = 0; l < count; l++) {
      const p = `${prefix}.layers.${l}`;
      for (const n of ['input_layernorm', 'post_attention_layernorm']) {
        vec(`${p}.${n}.weight`, D, () => 1 + 0.2 * rnd());
        vec(`${p}.${n}.bias`, D, () => 0.1 * rnd());
      }
      for (const n of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) lin(`${p}.self_attn.${n}.weight`, D, D);
      lin(`${p}.mlp.fc1.weight`, 2 * D, D);
      vec(`${p}.mlp.fc1.bias`, 2 * D, () => 0.1 * rnd());
      lin(`${p}.mlp.fc2.weight`, D, 2 * D);
      vec(`${p}.mlp.fc2.bias`, D, () => 0.1 * rnd());
      if (gated) {
        gate(`${p}.gate_attn`);
        gate(`${p}.gate_ffn`);
      }
    }
  };
  encoder(`${v}.transformer`, visionLayers, false);
  encoder(`${v}.global_transformer`, globalLayers, true);
  lin('multi_modal_projector.weight', hidden, vod);
  vec('multi_modal_projector.bias', hidden, () => 0.1 * rnd());
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  const config = {
    architectures: ['MllamaForConditionalGeneration'],
    model_type: 'mllama',
    image_token_index: 128256,
    torch_dtype: dtype === 'BF16' ? 'bfloat16' : 'float32',
    text_config: {
      model_type: 'mllama_text_model',
      hidden_size: hidden,
      num_attention_heads: heads,
      num_key_value_heads: kvHeads,
      num_hidden_layers: layers,
      cross_attention_layers: crossLayers,
      intermediate_size: intermediate,
      vocab_size: 128256,
      max_position_embeddings: 131072,
      rms_norm_eps: 1e-5,
      rope_theta: 500000,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
      hidden_act: 'silu',
      tie_word_embeddings: false,
      bos_token_id: 128000,
      eos_token_id: 128001,
      pad_token_id: 128004,
    },
    vision_config: {
      model_type: 'mllama_vision_model',
      hidden_size: D,
      attention_heads: visionHeads,
      num_hidden_layers: visionLayers,
      num_global_layers: globalLayers,
      intermediate_size: 2 * D,
      image_size: imageSize,
      patch_size: 14,
      num_channels: 3,
      max_num_tiles: 4,
      norm_eps: 1e-5,
      hidden_act: 'gelu',
      intermediate_layers_indices: intermediateLayers,
      vision_output_dim: vod,
      supported_aspect_ratios: [[1, 1], [1, 2], [1, 3], [1, 4], [2, 1], [2, 2], [3, 1], [4, 1]],
    },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
}
