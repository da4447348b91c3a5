import type { TinySizes, TinyDtype } from './sizes.js';

/** Written into config files, as save_pretrained does; the layout follows that release line. */
export const TRANSFORMERS_VERSION = '4.45.2';

const BOS = 128000;
const EOS = 128001;
const PAD = 128004;
const IMAGE_TOKEN = 128256;
/** The Instruct checkpoints stop on <|end_of_text|>, <|eom_id|> or <|eot_id|>. */
const INSTRUCT_EOS = [128001, 128008, 128009];

const TORCH_DTYPE: Record<TinyDtype, string> = { f32: 'float32', f16: 'float16', bf16: 'bfloat16' };

const LLAMA3_ROPE_SCALING = {
  factor: 8.0,
  high_freq_factor: 4.0,
  low_freq_factor: 1.0,
  original_max_position_embeddings: 8192,
  rope_type: 'llama3',
};

/** The PretrainedConfig fields transformers writes into every Mllama sub-config. */
function pretrainedFields(): Record<string, unknown> {
  return {
    _name_or_path: '',
    add_cross_attention: false,
    architectures: null,
    bad_words_ids: null,
    begin_suppress_tokens: null,
    chunk_size_feed_forward: 0,
    cross_attention_hidden_size: null,
    decoder_start_token_id: null,
    diversity_penalty: 0.0,
    do_sample: false,
    early_stopping: false,
    encoder_no_repeat_ngram_size: 0,
    exponential_decay_length_penalty: null,
    finetuning_task: null,
    forced_bos_token_id: null,
    forced_eos_token_id: null,
    id2label: { '0': 'LABEL_0', '1': 'LABEL_1' },
    is_decoder: false,
    is_encoder_decoder: false,
    label2id: { LABEL_0: 0, LABEL_1: 1 },
    length_penalty: 1.0,
    max_length: 20,
    min_length: 0,
    no_repeat_ngram_size: 0,
    num_beam_groups: 1,
    num_beams: 1,
    num_return_sequences: 1,
    output_attentions: false,
    output_hidden_states: false,
    output_scores: false,
    prefix: null,
    problem_type: null,
    pruned_heads: {},
    remove_invalid_values: false,
    repetition_penalty: 1.0,
    return_dict: true,
    return_dict_in_generate: false,
    sep_token_id: null,
    suppress_tokens: null,
    task_specific_params: null,
    temperature: 1.0,
    tf_legacy_loss: false,
    tie_encoder_decoder: false,
    tokenizer_class: null,
    top_k: 50,
    top_p: 1.0,
    torch_dtype: null,
    torchscript: false,
    typical_p: 1.0,
    use_bfloat16: false,
  };
}

export function mllamaConfig(s: TinySizes): Record<string, unknown> {
  const v = s.vision!;
  return {
    architectures: ['MllamaForConditionalGeneration'],
    image_token_index: IMAGE_TOKEN,
    model_type: 'mllama',
    text_config: {
      ...pretrainedFields(),
      bos_token_id: BOS,
      cross_attention_layers: s.crossAttentionLayers,
      dropout: 0.0,
      eos_token_id: EOS,
      hidden_act: 'silu',
      hidden_size: s.hidden,
      initializer_range: 0.02,
      intermediate_size: s.intermediate,
      max_position_embeddings: 131072,
      model_type: 'mllama_text_model',
      num_attention_heads: s.heads,
      num_hidden_layers: s.layers,
      num_key_value_heads: s.kvHeads,
      pad_token_id: PAD,
      rms_norm_eps: 1e-5,
      rope_scaling: LLAMA3_ROPE_SCALING,
      rope_theta: 500000.0,
      tie_word_embeddings: false,
      use_cache: true,
      vocab_size: s.vocabSize,
    },
    torch_dtype: TORCH_DTYPE[s.dtype],
    transformers_version: TRANSFORMERS_VERSION,
    vision_config: {
      ...pretrainedFields(),
      attention_heads: v.heads,
      bos_token_id: null,
      eos_token_id: null,
      hidden_act: 'gelu',
      hidden_size: v.hidden,
      image_size: v.imageSize,
      initializer_range: 0.02,
      intermediate_layers_indices: v.intermediateLayersIndices,
      intermediate_size: v.intermediate,
      max_num_tiles: v.maxNumTiles,
      model_type: 'mllama_vision_model',
      norm_eps: 1e-5,
      num_channels: 3,
      num_global_layers: v.globalLayers,
      num_hidden_layers: v.layers,
      pad_token_id: null,
      patch_size: v.patchSize,
      supported_aspect_ratios: v.supportedAspectRatios,
      tie_word_embeddings: true,
      vision_output_dim: v.visionOutputDim,
    },
  };
}

/** A Llama 3.2 1B style LlamaForCausalLM config (the Llama Guard 3 1B layout). */
export function llamaConfig(s: TinySizes): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: BOS,
    eos_token_id: EOS,
    head_dim: s.headDim,
    hidden_act: 'silu',
    hidden_size: s.hidden,
    initializer_range: 0.02,
    intermediate_size: s.intermediate,
    max_position_embeddings: 131072,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: s.heads,
    num_hidden_layers: s.layers,
    num_key_value_heads: s.kvHeads,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: LLAMA3_ROPE_SCALING,
    rope_theta: 500000.0,
    tie_word_embeddings: s.tieWordEmbeddings,
    torch_dtype: TORCH_DTYPE[s.dtype],
    transformers_version: TRANSFORMERS_VERSION,
    use_cache: true,
    vocab_size: s.vocabSize,
  };
}

/** Greedy by default (no do_sample) so tests are deterministic; stops like the Instruct models. */
export function generationConfig(): Record<string, unknown> {
  return {
    bos_token_id: BOS,
    eos_token_id: INSTRUCT_EOS,
    pad_token_id: PAD,
    transformers_version: TRANSFORMERS_VERSION,
  };
}

/**
 * The released Llama 3.2 Vision image processor settings (CLIP mean/std, bilinear), with the tile
 * size of this checkpoint's vision model: tiles must be exactly `vision_config.image_size` pixels
 * (560 for the real models) or the vision graph rejects them.
 */
export function preprocessorConfig(maxImageTiles: number, tileSize: number): Record<string, unknown> {
  return {
    do_convert_rgb: true,
    do_normalize: true,
    do_pad: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_processor_type: 'MllamaImageProcessor',
    image_std: [0.26862954, 0.26130258, 0.27577711],
    max_image_tiles: maxImageTiles,
    resample: 2,
    rescale_factor: 0.00392156862745098,
    size: { height: tileSize, width: tileSize },
  };
}

/**
 * Fields that transformers declares as floats: Python's json module writes them with a decimal
 * point or exponent ("factor": 8.0, "rms_norm_eps": 1e-05), which JSON.stringify would drop.
 */
const FLOAT_FIELDS = new Set([
  'attention_dropout',
  'diversity_penalty',
  'dropout',
  'factor',
  'high_freq_factor',
  'image_mean',
  'image_std',
  'initializer_range',
  'length_penalty',
  'low_freq_factor',
  'norm_eps',
  'repetition_penalty',
  'rescale_factor',
  'rms_norm_eps',
  'rope_theta',
  'temperature',
  'top_p',
  'typical_p',
]);

/**
 * JSON as save_pretrained writes it (json.dumps with indent=2, sort_keys=True, final newline):
 * keys sorted at every level, empty containers as [] / {}, and the FLOAT_FIELDS as Python floats.
 */
export function toConfigJson(value: unknown): string {
  return `${serialize(value, '', false)}\n`;
}

function serialize(value: unknown, indent: string, asFloat: boolean): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return asFloat ? pythonFloat(value) : JSON.stringify(value);
  if (typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'string') return pythonString(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + serialize(v, inner, asFloat)).join(',\n')}\n${indent}]`;
  }
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) return '{}';
    const entries = keys.map((k) => `${inner}${JSON.stringify(k)}: ${serialize((value as Record<string, unknown>)[k], inner, FLOAT_FIELDS.has(k))}`);
    return `{\n${entries.join(',\n')}\n${indent}}`;
  }
  throw new TypeError(`config values must be JSON data (null, number, string, boolean, array, object), got ${typeof value}`);
}

/** json.dumps' default ensure_ascii: everything outside printable ASCII as a \uXXXX escape. */
function pythonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Python's repr(float): the shortest round-trip digits (the same digits JavaScript picks), in plain
 * notation with at least one decimal when the exponent is from -4 to 15, else as 1e-05 / 1.5e+16.
 */
export function pythonFloat(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`config floats must be finite, got ${x}`);
  if (Object.is(x, -0)) return '-0.0';
  const [mantissa, expText] = x.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const sign = exp < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  // In this range JavaScript already writes plain notation; add ".0" to whole numbers.
  const plain = String(x);
  return /[.e]/.test(plain) ? plain : `${plain}.0`;
}
