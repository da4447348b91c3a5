import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readModelSpec, type TextSpec } from '../onnx/config.js';
import { ropeInvFreq } from '../onnx/rope.js';
import { f32Rows } from '../onnx/tensor-stream.js';
import { SafetensorsIndex, type TensorSource } from '../weights/index.js';
import { GgufError } from './errors.js';
import { GgufMetadata, writeGguf, type GgufTensor } from './format.js';
import { encodeGgml, isGgmlType, type GgmlType } from './quantize.js';

export interface LlamaGgufOptions {
  /** Type of the 2-D weights (projections, embedding, output): F32, F16, Q8_0 or Q4_0. Norms stay F32. */
  type: GgmlType;
  /** Type of `output.weight` (lm_head); default `type`. */
  outputType?: GgmlType;
  /** `general.name`; default the directory's name. */
  name?: string;
}

export interface LlamaGgufResult {
  path: string;
  bytes: number;
  tensors: number;
}

/** `general.file_type` (llama_ftype) for a file whose weights are all of one type. */
const FILE_TYPE: Record<GgmlType, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 };

/** Token types of llama.cpp's vocabulary table. */
const TOKEN_NORMAL = 1;
const TOKEN_CONTROL = 3;
const TOKEN_UNUSED = 5;

/**
 * Writes a LlamaForCausalLM checkpoint directory (config.json, safetensors, tokenizer.json) as a
 * GGUF file that llama.cpp loads as architecture "llama": weights in the requested type, rope
 * and norm hyperparameters, the llama3 rope scaling as per-frequency factors (`rope_freqs`), and
 * the byte-level BPE vocabulary (tokens, token types, merges, bos/eos) with the Llama 3
 * pre-tokenizer. Tensors stream from the checkpoint a few MB at a time.
 */
export async function writeLlamaGguf(modelDir: string, outPath: string, options: LlamaGgufOptions): Promise<LlamaGgufResult> {
  const type = options.type;
  const outputType = options.outputType ?? type;
  for (const t of [type, outputType]) if (!isGgmlType(t)) throw new GgufError('GGUF_BAD_TYPE', `tensor type must be one of F32, F16, Q8_0, Q4_0; got ${JSON.stringify(t)}`);
  const spec = await readModelSpec(modelDir);
  if (spec.arch !== 'llama') throw new GgufError('GGUF_UNSUPPORTED_ARCH', `only LlamaForCausalLM checkpoints can be written as GGUF; ${modelDir} is ${spec.arch}`);
  const text = spec.text;
  const config = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const src = await SafetensorsIndex.open(modelDir);
  try {
    const meta = new GgufMetadata();
    meta.str('general.architecture', 'llama');
    meta.str('general.name', options.name ?? modelDir.split(/[\\/]/).filter(Boolean).pop() ?? 'llama');
    meta.u32('general.file_type', FILE_TYPE[type]);
    meta.u32('general.alignment', 32);
    meta.u32('llama.vocab_size', text.vocabSize);
    meta.u32('llama.context_length', text.maxPositionEmbeddings);
    meta.u32('llama.embedding_length', text.hiddenSize);
    meta.u32('llama.block_count', text.numLayers);
    meta.u32('llama.feed_forward_length', text.intermediateSize);
    meta.u32('llama.attention.head_count', text.numHeads);
    meta.u32('llama.attention.head_count_kv', text.numKvHeads);
    meta.u32('llama.attention.key_length', text.headDim);
    meta.u32('llama.attention.value_length', text.headDim);
    meta.u32('llama.rope.dimension_count', text.headDim);
    meta.f32('llama.rope.freq_base', text.ropeTheta);
    meta.f32('llama.attention.layer_norm_rms_epsilon', text.rmsNormEps);
    await addTokenizer(meta, modelDir, text.vocabSize, config);

    const tensors: GgufTensor[] = [];
    const need = (name: string) => {
      if (!src.has(name)) throw new GgufError('GGUF_MISSING_TENSOR', `checkpoint tensor "${name}" is missing`);
      return name;
    };
    const embed = need(`${text.prefix}.embed_tokens.weight`);
    tensors.push(matrix(src, 'token_embd.weight', embed, type));
    if (text.ropeScaling) {
      const factors = ropeFactors(text);
      tensors.push({ name: 'rope_freqs.weight', dims: [factors.length], type: 'F32', data: async function* () { yield encodeGgml('F32', factors); } });
    }
    for (let i = 0; i < text.numLayers; i++) {
      const p = `${text.prefix}.layers.${i}`;
      const b = `blk.${i}`;
      tensors.push(vector(src, `${b}.attn_norm.weight`, need(`${p}.input_layernorm.weight`)));
      tensors.push(matrix(src, `${b}.attn_q.weight`, need(`${p}.self_attn.q_proj.weight`), type, { heads: text.numHeads, headDim: text.headDim }));
      tensors.push(matrix(src, `${b}.attn_k.weight`, need(`${p}.self_attn.k_proj.weight`), type, { heads: text.numKvHeads, headDim: text.headDim }));
      tensors.push(matrix(src, `${b}.attn_v.weight`, need(`${p}.self_attn.v_proj.weight`), type));
      tensors.push(matrix(src, `${b}.attn_output.weight`, need(`${p}.self_attn.o_proj.weight`), type));
      tensors.push(vector(src, `${b}.ffn_norm.weight`, need(`${p}.post_attention_layernorm.weight`)));
      tensors.push(matrix(src, `${b}.ffn_gate.weight`, need(`${p}.mlp.gate_proj.weight`), type));
      tensors.push(matrix(src, `${b}.ffn_up.weight`, need(`${p}.mlp.up_proj.weight`), type));
      tensors.push(matrix(src, `${b}.ffn_down.weight`, need(`${p}.mlp.down_proj.weight`), type));
    }
    tensors.push(vector(src, 'output_norm.weight', need(`${text.prefix}.norm.weight`)));
    // A tied lm_head is the embedding; llama.cpp falls back to token_embd when output is absent.
    if (text.lmHead !== embed) tensors.push(matrix(src, 'output.weight', need(text.lmHead), outputType));
    const { bytes } = await writeGguf(outPath, meta, tensors);
    return { path: outPath, bytes, tensors: tensors.length };
  } finally {
    await src.close();
  }
}

/** A norm weight, always F32 (what llama.cpp's norm kernels read). */
function vector(src: TensorSource, name: string, from: string): GgufTensor {
  const shape = src.info(from).shape;
  return {
    name,
    dims: [shape[0]],
    type: 'F32',
    data: async function* () {
      for await (const rows of f32Rows(src, from, shape[0])) yield encodeGgml('F32', rows);
    },
  };
}

/**
 * An HF Linear / embedding weight [rows, cols] as ggml [cols, rows] (same bytes, row-major).
 * q and k are permuted within each head from HF's rotate-half layout (first half of the head
 * paired with the second) to the adjacent-pair layout llama.cpp's "llama" rope uses.
 */
function matrix(src: TensorSource, name: string, from: string, type: GgmlType, ropeHeads?: { heads: number; headDim: number }): GgufTensor {
  const [rows, cols] = src.info(from).shape;
  if (type !== 'F32' && type !== 'F16' && cols % 32 !== 0) {
    throw new GgufError('GGUF_BAD_SHAPE', `${type} needs rows that are a multiple of 32; "${from}" has rows of ${cols}`);
  }
  return {
    name,
    dims: [cols, rows],
    type,
    data: async function* () {
      if (!ropeHeads) {
        for await (const piece of f32Rows(src, from, cols)) yield encodeGgml(type, piece);
        return;
      }
      const w = await src.readTensor(from);
      yield encodeGgml(type, permuteForRope(w, ropeHeads.heads, ropeHeads.headDim, cols));
    },
  };
}

/** Row 2i + j of each head (j = 0, 1) takes row j * headDim/2 + i of the HF head. */
export function permuteForRope(w: Float32Array, heads: number, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < half; i++)
      for (let j = 0; j < 2; j++) {
        const to = (h * headDim + 2 * i + j) * cols;
        const from = (h * headDim + j * half + i) * cols;
        out.set(w.subarray(from, from + cols), to);
      }
  return out;
}

/** llama3 rope scaling as llama.cpp reads it: the factor each base frequency is divided by. */
function ropeFactors(text: TextSpec): Float32Array {
  const base = ropeInvFreq({ headDim: text.headDim, ropeTheta: text.ropeTheta });
  const scaled = ropeInvFreq(text);
  return base.map((b, i) => b / scaled[i]);
}

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number>; merges?: Array<string | [string, string]> };
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
}

async function addTokenizer(meta: GgufMetadata, modelDir: string, vocabSize: number, config: Record<string, unknown>): Promise<void> {
  let tok: TokenizerJson;
  try {
    tok = JSON.parse(await readFile(join(modelDir, 'tokenizer.json'), 'utf8')) as TokenizerJson;
  } catch (err) {
    throw new GgufError('GGUF_BAD_TOKENIZER', `cannot read ${join(modelDir, 'tokenizer.json')}: ${(err as Error).message}`);
  }
  const model = tok.model;
  if (model?.type !== 'BPE' || !model.vocab || !model.merges) {
    throw new GgufError('GGUF_BAD_TOKENIZER', `tokenizer.json must hold a byte-level BPE model with vocab and merges (Llama 3); got model type ${JSON.stringify(model?.type)}`);
  }
  const tokens = new Array<string | undefined>(vocabSize);
  const types = new Int32Array(vocabSize);
  for (const [piece, id] of Object.entries(model.vocab)) {
    if (id < vocabSize) {
      tokens[id] = piece;
      types[id] = TOKEN_NORMAL;
    }
  }
  for (const t of tok.added_tokens ?? []) {
    if (t.id < vocabSize) {
      tokens[t.id] = t.content;
      types[t.id] = t.special === false ? TOKEN_NORMAL : TOKEN_CONTROL;
    }
  }
  for (let i = 0; i < vocabSize; i++)
    if (tokens[i] === undefined) {
      tokens[i] = `[PAD${i}]`;
      types[i] = TOKEN_UNUSED;
    }
  const merges = model.merges.map((m) => (typeof m === 'string' ? m : m.join(' ')));
  meta.str('tokenizer.ggml.model', 'gpt2');
  meta.str('tokenizer.ggml.pre', 'llama-bpe');
  meta.strings('tokenizer.ggml.tokens', tokens as string[]);
  meta.i32s('tokenizer.ggml.token_type', types);
  meta.strings('tokenizer.ggml.merges', merges);
  const first = (v: unknown): number | undefined => (Array.isArray(v) ? first(v[0]) : typeof v === 'number' ? v : undefined);
  const bos = first(config.bos_token_id);
  const eos = first(config.eos_token_id);
  if (bos !== undefined) meta.u32('tokenizer.ggml.bos_token_id', bos);
  if (eos !== undefined) meta.u32('tokenizer.ggml.eos_token_id', eos);
  meta.bool('tokenizer.ggml.add_bos_token', bos !== undefined);
  try {
    const tc = JSON.parse(await readFile(join(modelDir, 'tokenizer_config.json'), 'utf8')) as { chat_template?: unknown };
    if (typeof tc.chat_template === 'string') meta.str('tokenizer.chat_template', tc.chat_template);
  } catch {
    // no tokenizer_config.json: no chat template
  }
}
