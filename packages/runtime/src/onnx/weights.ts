import type { TensorSource } from '../weights/index.js';
import type { GraphBuilder, Elem } from './graph-builder.js';
import { A } from './graph-builder.js';
import type { ExternalDataWriter } from './external-data.js';
import { f32Rows, encode, PIECE_BYTES } from './tensor-stream.js';
import { quantizeInt4, quantizeInt8 } from './int4.js';
import { OnnxError } from './errors.js';

export type BuildDtype = 'fp32' | 'fp16' | 'int4';

/**
 * How an int4 build stores lm_head and what its MatMulNBits compute in.
 * - `lmHead`: 'f16' (a Gemm on the f16 matrix, which onnxruntime's CPU provider widens to f32
 *   at load), or MatMulNBits with 8-bit or 4-bit blocks ('int8', 'int4').
 * - `accuracyLevel`: MatMulNBits' accuracy_level: 0 (compute in the input's type) or 4 (the
 *   CPU kernels quantise the activations to int8 per block and use integer dot products).
 * - `embeddings`: the token embedding table as f16 (a Gather), or 8-bit / 4-bit blocks
 *   read by com.microsoft GatherBlockQuantized, which widens only the gathered rows.
 * - `blockSize`: weights per quantisation block (32, 64 or 128) of every quantised tensor whose
 *   input width it divides (others use 32). Each block carries a scale in the compute type and a
 *   zero point, so larger blocks read fewer bytes per weight at some cost in quality: with f32
 *   scales 4-bit blocks take 5.1 bits per weight at 32, 4.6 at 64 (llama.cpp's Q4_0: 4.5) and
 *   4.3 at 128.
 * Defaults (docs/run-llama-vision.md has the measurements): with f32 compute (the CPU build)
 * an 8-bit lm_head, accuracy level 4, 8-bit embeddings (a tied table shares the lm_head's bytes)
 * and blocks of 32 (64 is faster, but on the trained fixture its greedy text leaves fp32's at a
 * choice more than 1 logit apart, which the int4 bar does not allow); with f16 compute (the
 * CUDA build) an f16 lm_head, level 0, f16 embeddings and blocks of 32.
 * LOOKOUT_INT4_LM_HEAD (f16|int8|int4), LOOKOUT_INT4_ACCURACY_LEVEL (0|4), LOOKOUT_INT4_EMBEDDINGS (f16|int8|int4) and
 * LOOKOUT_INT4_BLOCK_SIZE (32|64|128) override them for a build. An 8-bit lm_head needs level 4
 * to be fast: onnxruntime 1.30's CPU kernel for 8-bit blocks at level 0 was 30x slower than the
 * f16 Gemm.
 */
export interface Int4Settings {
  lmHead: 'f16' | 'int8' | 'int4';
  accuracyLevel: 0 | 4;
  embeddings: 'f16' | 'int8' | 'int4';
  blockSize: 32 | 64 | 128;
}

export const INT4_DEFAULTS: Record<'f32' | 'f16', Int4Settings> = {
  f32: { lmHead: 'int8', accuracyLevel: 4, embeddings: 'int8', blockSize: 32 },
  f16: { lmHead: 'f16', accuracyLevel: 0, embeddings: 'f16', blockSize: 32 },
};

export const INT4_BLOCK_SIZES = [32, 64, 128] as const;

/** The block size for a tensor of input width `width`: the setting's, or 32 where that does not divide it. */
function blockFor(width: number, setting: Int4Settings['blockSize']): number {
  return width % setting === 0 ? setting : 32;
}

const STORAGE = ['f16', 'int8', 'int4'] as const;

export function int4Settings(compute: 'f32' | 'f16', env: NodeJS.ProcessEnv = process.env): Int4Settings {
  const s = { ...INT4_DEFAULTS[compute] };
  const lm = env.LOOKOUT_INT4_LM_HEAD;
  if (lm !== undefined && lm !== '') {
    if (lm !== 'f16' && lm !== 'int8' && lm !== 'int4') throw new OnnxError('ONNX_BAD_CONFIG', `LOOKOUT_INT4_LM_HEAD must be f16, int8 or int4; got "${lm}"`);
    s.lmHead = lm;
  }
  const acc = env.LOOKOUT_INT4_ACCURACY_LEVEL;
  if (acc !== undefined && acc !== '') {
    if (acc !== '0' && acc !== '4') throw new OnnxError('ONNX_BAD_CONFIG', `LOOKOUT_INT4_ACCURACY_LEVEL must be 0 or 4; got "${acc}"`);
    s.accuracyLevel = Number(acc) as 0 | 4;
  }
  const emb = env.LOOKOUT_INT4_EMBEDDINGS;
  if (emb !== undefined && emb !== '') {
    if (!(STORAGE as readonly string[]).includes(emb)) throw new OnnxError('ONNX_BAD_CONFIG', `LOOKOUT_INT4_EMBEDDINGS must be f16, int8 or int4; got "${emb}"`);
    s.embeddings = emb as Int4Settings['embeddings'];
  }
  const block = env.LOOKOUT_INT4_BLOCK_SIZE;
  if (block !== undefined && block !== '') {
    if (!(INT4_BLOCK_SIZES as readonly number[]).includes(Number(block))) throw new OnnxError('ONNX_BAD_CONFIG', `LOOKOUT_INT4_BLOCK_SIZE must be 32, 64 or 128; got "${block}"`);
    s.blockSize = Number(block) as Int4Settings['blockSize'];
  }
  return s;
}

export interface BuildProgress {
  tensorsDone: number;
  tensorsTotal: number;
  bytesRead: number;
  bytesWritten: number;
}

interface Written {
  elem: Elem;
  dims: number[];
  at: { offset: number; length: number };
}

/**
 * Turns checkpoint tensors into graph initializers in the build dtype, one tensor in memory at
 * a time. A tensor written once (by any graph) is referenced again, never duplicated.
 */
export class WeightWriter {
  private written = new Map<string, Written>();
  private derivedNames = new WeakMap<GraphBuilder, Map<string, string>>();
  private perGraph = new WeakMap<GraphBuilder, Set<string>>();
  tensorsDone = 0;
  bytesRead = 0;
  /** Per compute type, read when the first graph of that type asks (env checked once per build). */
  private int4ByCompute = new Map<'f32' | 'f16', Int4Settings>();

  constructor(
    private readonly src: TensorSource,
    readonly dtype: BuildDtype,
    private readonly data: ExternalDataWriter,
    private readonly tensorsTotal: number,
    private readonly onProgress?: (p: BuildProgress) => void,
    /** The build's int4 settings (BuildOptions.int4); without them, per compute type from the defaults and environment. */
    private readonly int4?: Int4Settings,
  ) {}

  private report(): void {
    this.onProgress?.({ tensorsDone: this.tensorsDone, tensorsTotal: this.tensorsTotal, bytesRead: this.bytesRead, bytesWritten: this.data.bytesWritten });
  }

  /** Adds `key` to graph g, producing it with `make` only the first time across graphs. */
  private async use(graph: GraphBuilder, key: string, make: (g: GraphBuilder) => Promise<Written>): Promise<string> {
    // Subgraphs (Loop bodies) read the enclosing graph's initializers by name.
    const g = graph.root;
    let names = this.perGraph.get(g);
    if (!names) this.perGraph.set(g, (names = new Set()));
    if (names.has(key)) return key;
    names.add(key);
    const prior = this.written.get(key);
    if (prior) return g.sharedInitializer(key, prior.elem, prior.dims, prior.at);
    const w = await make(g);
    g.sharedInitializer(key, w.elem, w.dims, w.at);
    this.written.set(key, w);
    return key;
  }

  private done(name: string): void {
    this.bytesRead += this.src.info(name).byteLength;
    this.tensorsDone += 1;
    this.report();
  }

  /** Streams a tensor into the data file as f32 or f16, a few MB at a time. */
  private async stream(name: string, elem: 'float32' | 'float16', dims?: number[]): Promise<Written> {
    const shape = this.shape(name);
    const srcDtype = this.src.info(name).dtype;
    this.data.begin();
    if ((srcDtype === 'F32' && elem === 'float32') || (srcDtype === 'F16' && elem === 'float16')) {
      // Same element type: the bytes go straight through.
      for await (const raw of this.src.rawChunks(name, PIECE_BYTES)) this.data.piece(raw);
    } else {
      for await (const rows of f32Rows(this.src, name, shape.length ? shape[shape.length - 1] : 1)) this.data.piece(encode(rows, elem));
    }
    this.done(name);
    return { elem, dims: dims ?? shape, at: this.data.end() };
  }

  shape(name: string): number[] {
    return this.src.info(name).shape;
  }

  has(name: string): boolean {
    return this.src.has(name);
  }

  /**
   * A small tensor (norms, gates, biases, vision conv and embeddings) in the graph's compute type:
   * f32 in fp32 and int4 builds, f16 in fp16 builds.
   */
  async param(g: GraphBuilder, name: string, reshape?: number[]): Promise<string> {
    if (g.floatElem === 'float16') return this.use(g, `${name}.f16`, () => this.stream(name, 'float16', reshape));
    return this.use(g, name, () => this.stream(name, 'float32', reshape));
  }

  /**
   * Looks up token embeddings: rows of the table for `ids`, in the graph's compute type. fp32
   * builds Gather from the f32 table; fp16 and int4 builds from an f16 table (with f32 compute a
   * Cast follows, so only the gathered rows are widened); int4 builds whose settings say so from
   * 8-bit or 4-bit blocks along each row (GatherBlockQuantized dequantises only those rows).
   */
  async embed(g: GraphBuilder, name: string, ids: string): Promise<string> {
    const [rows, width] = this.shape(name);
    const storage = this.dtype === 'int4' ? this.int4Settings(g).embeddings : this.dtype === 'fp16' ? 'f16' : 'fp32';
    const block = this.dtype === 'int4' ? blockFor(width, this.int4Settings(g).blockSize) : 32;
    if ((storage === 'int8' || storage === 'int4') && width % block === 0) {
      const bits = storage === 'int4' ? 4 : 8;
      const key = `${name}.q${bits}`;
      // Written once (an 8-bit tied lm_head shares them); the graph reads them only as rows.
      if (!this.written.has(key)) this.written.set(key, await this.quantize(name, g.floatElem, bits, block));
      // The same bytes as MatMulNBits' [N, blocks, block bytes] layout, seen as rows: [N, width *
      // bits / 8] data, [N, blocks] scales, [N, zero point bytes] zero points.
      const blocks = width / block;
      const asRows = (suffix: string, dims: number[]) =>
        this.use(g, `${key}${suffix}.rows`, async () => ({ ...this.written.get(`${key}${suffix}`)!, dims }));
      const data = await asRows('', [rows, (width * bits) / 8]);
      const scales = await asRows('.scales', [rows, blocks]);
      const zeroPoints = await asRows('.zero_points', [rows, bits === 4 ? Math.ceil(blocks / 2) : blocks]);
      return g.op('GatherBlockQuantized', [data, ids, scales, zeroPoints], { bits: A.i(bits), block_size: A.i(block), gather_axis: A.i(0), quantize_axis: A.i(1) }, undefined, 'com.microsoft');
    }
    if (storage === 'fp32') return g.op('Gather', [await this.use(g, name, () => this.stream(name, 'float32')), ids], { axis: A.i(0) });
    const h = g.op('Gather', [await this.use(g, `${name}.f16`, () => this.stream(name, 'float16')), ids], { axis: A.i(0) });
    return g.floatElem === 'float32' ? g.op('Cast', [h], { to: A.i(1) }) : h;
  }

  /** The int4 settings for this graph's compute type (the build's, else defaults and environment). */
  private int4Settings(g: GraphBuilder): Int4Settings {
    const compute = g.floatElem === 'float16' ? 'f16' : 'f32';
    let int4 = this.int4 ?? this.int4ByCompute.get(compute);
    if (!int4) this.int4ByCompute.set(compute, (int4 = int4Settings(compute)));
    return int4;
  }

  /** A derived tensor (Cast / Transpose of a weight) computed once in the root graph. */
  private derived(g: GraphBuilder, key: string, make: (root: GraphBuilder) => string): string {
    const root = g.root;
    let map = this.derivedNames.get(root);
    if (!map) this.derivedNames.set(root, (map = new Map()));
    let name = map.get(key);
    if (!name) map.set(key, (name = make(root)));
    return name;
  }

  /**
   * y = x @ W^T (+ b) for an HF Linear weight W [out, in]. W is stored as it is in the checkpoint
   * (no transposition at build time, so tensors stream in pieces) and used by Gemm with
   * transB = 1. fp16 builds store W in half and compute in half (x is f16 there); a half W in an
   * f32-compute graph (lm_head of int4 builds) is cast up once, which onnxruntime folds at load.
   * int4 uses MatMulNBits.
   * The tied embedding table and lm_head are the same initializer.
   */
  async linear(g: GraphBuilder, x: string, name: string, bias?: string, opts: { atMost?: 'fp16' } = {}): Promise<string> {
    const [out, inF] = this.shape(name);
    const int4 = this.int4Settings(g);
    // `atMost: 'fp16'` marks lm_head: in int4 builds it follows `int4.lmHead`.
    let kind: 'fp32' | 'fp16' | 'int4' | 'int8' = this.dtype;
    if (opts.atMost === 'fp16' && this.dtype === 'int4') kind = int4.lmHead === 'f16' ? 'fp16' : int4.lmHead;
    let y: string;
    const block = blockFor(inF, int4.blockSize);
    if ((kind === 'int4' || kind === 'int8') && inF % block === 0) {
      const bits = kind === 'int4' ? 4 : 8;
      const key = `${name}.q${bits}`;
      // Scales are in the compute type (MatMulNBits takes them as T, like its input).
      const packed = await this.use(g, key, () => this.quantize(name, g.floatElem, bits, block));
      const written = async () => {
        throw new OnnxError('ONNX_BAD_TENSOR', `quantisation parameters of "${name}" were not written`);
      };
      const scales = await this.use(g, `${key}.scales`, written);
      const zeroPoints = await this.use(g, `${key}.zero_points`, written);
      const attrs = { K: A.i(inF), N: A.i(out), bits: A.i(bits), block_size: A.i(block), ...(int4.accuracyLevel ? { accuracy_level: A.i(int4.accuracyLevel) } : {}) };
      y = g.op('MatMulNBits', [x, packed, scales, zeroPoints], attrs, undefined, 'com.microsoft');
    } else if (kind !== 'fp32') {
      const w = await this.use(g, `${name}.f16`, () => this.stream(name, 'float16'));
      const usable = g.floatElem === 'float16' ? w : this.derived(g, `${name}.f16.as_f32`, (root) => root.op('Cast', [w], { to: A.i(1) }, `${name}.f16.as_f32`));
      y = gemmTransB(g, x, usable, out, inF);
    } else {
      const w = await this.use(g, name, () => this.stream(name, 'float32'));
      y = gemmTransB(g, x, w, out, inF);
    }
    if (bias) y = g.op('Add', [y, await this.param(g, bias)]);
    return y;
  }

  /** Quantises row blocks as they stream; scales follow the packed weights in the data file. */
  private async quantize(name: string, scaleElem: 'float32' | 'float16', bits: 4 | 8, block: number): Promise<Written> {
    const [out, inF] = this.shape(name);
    const blocks = inF / block;
    const zpBytes = bits === 4 ? Math.ceil(blocks / 2) : blocks;
    const scales = new Float32Array(out * blocks);
    const zeroPoints = new Uint8Array(out * zpBytes);
    let row = 0;
    this.data.begin();
    for await (const rows of f32Rows(this.src, name, inF)) {
      const n = rows.length / inF;
      const q = bits === 4 ? quantizeInt4(rows, n, inF, block) : quantizeInt8(rows, n, inF, block);
      this.data.piece(q.packed);
      scales.set(q.scales, row * blocks);
      zeroPoints.set(q.zeroPoints, row * zpBytes);
      row += n;
    }
    const at = this.data.end();
    this.done(name);
    // Scales and zero points are small (1/8 and 1/64 of the f32 weight); they follow the blocks.
    this.data.begin();
    this.data.piece(encode(scales, scaleElem));
    this.written.set(`${name}.q${bits}.scales`, { elem: scaleElem, dims: [out * blocks], at: this.data.end() });
    this.data.begin();
    this.data.piece(zeroPoints);
    this.written.set(`${name}.q${bits}.zero_points`, { elem: 'uint8', dims: [out * zpBytes], at: this.data.end() });
    return { elem: 'uint8', dims: [out, blocks, (block * bits) / 8], at };
  }
}

export function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** x [..., inF] @ W^T with W [out, inF]: Gemm(transB) on the rows, then the leading dims back. */
function gemmTransB(g: GraphBuilder, x: string, w: string, out: number, inF: number): string {
  const rows = g.op('Reshape', [x, g.constI64([-1, inF])]);
  const y = g.op('Gemm', [rows, w], { transB: A.i(1) });
  const lead = g.op('Slice', [g.op('Shape', [x]), g.constI64([0]), g.constI64([-1])]);
  return g.op('Reshape', [y, g.op('Concat', [lead, g.constI64([out])], { axis: A.i(0) })]);
}
