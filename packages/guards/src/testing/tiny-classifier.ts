// Writes a tiny Prompt Guard-shaped model directory for tests and benchmarks: a Unigram
// tokenizer.json with Metaspace pre-tokenisation and [CLS]/[SEP] post-processing (the layout of
// mDeBERTa's tokenizer), config.json with id2label, and an ONNX sequence classifier
// (embedding → masked mean-pool → linear) with int64 input_ids/attention_mask and logits [batch, labels].
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export const TINY_SPECIALS = ['[PAD]', '[CLS]', '[SEP]', '[UNK]'];

export interface TinyClassifierSpec {
  /** Labels in id order, e.g. ['BENIGN', 'INJECTION', 'JAILBREAK']. */
  labels: string[];
  /** Words (without the ▁ marker) and the logit each adds per label while present. */
  words: Record<string, number[]>;
}

/** Words every tiny vocabulary gets: single letters, so any text tokenises. */
const LETTERS = 'abcdefghijklmnopqrstuvwxyz'.split('');

export async function writeTinyClassifier(dir: string, spec: TinyClassifierSpec): Promise<void> {
  await mkdir(dir, { recursive: true });
  const pieces: Array<[string, number]> = [...TINY_SPECIALS.map((t): [string, number] => [t, 0]), ['▁', -2]];
  for (const w of Object.keys(spec.words)) pieces.push([`▁${w}`, -1]);
  for (const l of LETTERS) pieces.push([`▁${l}`, -3], [l, -4]);
  const vocabSize = pieces.length;
  const id = (piece: string) => pieces.findIndex(([p]) => p === piece);
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: TINY_SPECIALS.map((content, i) => ({ id: i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [1], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [2], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 3, vocab: pieces, byte_fallback: false },
  };
  const labels = spec.labels.length;
  // Embedding dimension = labels: each word's row is its logit contribution; the linear layer is
  // the identity times the number of tokens' worth of dilution undone by a fixed gain.
  const hidden = labels;
  const emb = new Float32Array(vocabSize * hidden);
  for (const [w, logits] of Object.entries(spec.words)) logits.forEach((v, j) => (emb[id(`▁${w}`) * hidden + j] = v));
  const weight = new Float32Array(hidden * labels);
  for (let j = 0; j < labels; j++) weight[j * labels + j] = 4;
  const bias = new Float32Array(labels);
  bias[0] = 1; // lean benign

  const tensor = (name: string, dims: number[], data: Float32Array | number[], dataType = 1) =>
    onnx.TensorProto.create({
      name,
      dims,
      dataType,
      ...(dataType === 1 ? { rawData: new Uint8Array((data as Float32Array).buffer.slice(0)) } : { int64Data: data as number[] }),
    });
  const vi = (name: string, elem: number, dims: Array<number | string>) =>
    onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: elem, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
    });
  const node = (opType: string, input: string[], output: string[], attribute: onnxProto.onnx.IAttributeProto[] = []) =>
    onnx.NodeProto.create({ opType, input, output, name: output[0], attribute });

  const graph = onnx.GraphProto.create({
    name: 'tiny_prompt_guard',
    input: [vi('input_ids', 7, ['batch', 'seq']), vi('attention_mask', 7, ['batch', 'seq'])],
    output: [vi('logits', 1, ['batch', labels])],
    initializer: [
      tensor('embeddings', [vocabSize, hidden], emb),
      tensor('classifier.weight', [hidden, labels], weight),
      tensor('classifier.bias', [labels], bias),
      tensor('axis1', [1], [1], 7),
      tensor('axis2', [1], [2], 7),
    ],
    node: [
      node('Gather', ['embeddings', 'input_ids'], ['embedded']),
      node('Cast', ['attention_mask'], ['mask_f'], [onnx.AttributeProto.create({ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: 1 })]),
      node('Unsqueeze', ['mask_f', 'axis2'], ['mask3']),
      node('Mul', ['embedded', 'mask3'], ['masked']),
      node('ReduceSum', ['masked', 'axis1'], ['summed'], [onnx.AttributeProto.create({ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 })]),
      node('ReduceSum', ['mask3', 'axis1'], ['count'], [onnx.AttributeProto.create({ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 })]),
      node('Div', ['summed', 'count'], ['pooled']),
      node('MatMul', ['pooled', 'classifier.weight'], ['projected']),
      node('Add', ['projected', 'classifier.bias'], ['logits']),
    ],
  });
  const model = onnx.ModelProto.create({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }], producerName: 'lookout-test', graph });
  await writeFile(path.join(dir, 'model.onnx'), onnx.ModelProto.encode(model).finish());
  await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  await writeFile(
    path.join(dir, 'tokenizer_config.json'),
    JSON.stringify({ cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', model_max_length: 512 }),
  );
  await writeFile(
    path.join(dir, 'config.json'),
    JSON.stringify({ architectures: ['DebertaV2ForSequenceClassification'], id2label: Object.fromEntries(spec.labels.map((l, i) => [String(i), l])) }),
  );
}
