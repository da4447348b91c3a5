import type { TensorSource } from '../weights/index.js';
import type { GraphBuilder, Elem } from './graph-builder.js';
import { A } from './graph-builder.js';
import { f32ToF16Bits } from '../weights/index.js';
import { quantizeInt4 } from './int4.js';

export type BuildDtype = 'fp32' | 'fp16' | 'int4';

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
  private casts = new WeakMap<GraphBuilder, Map<string, string>>();
  private perGraph = new WeakMap<GraphBuilder, Set<string>>();
  tensorsDone = 0;
  bytesRead = 0;

  constructor(
    private readonly src: TensorSource,
    readonly dtype: BuildDtype,
    private readonly dataBytesWritten: () => number,
    private readonly tensorsTotal: number,
    private readonly onProgress?: (p: BuildProgress) => void,
  ) {}

  private report(): void {
    this.onProgress?.({ tensorsDone: this.tensorsDone, tensorsTotal: this.tensorsTotal, bytesRead: this.bytesRead, bytesWritten: this.dataBytesWritten() });
  }

  /** Adds `key` to graph g, producing it with `make` only the first time across graphs. */
  private async use(graph: GraphBuilder, key: string, make: () => Promise<{ elem: Elem; dims: number[]; bytes: Uint8Array }>): Promise<string> {
    // Subgraphs (Loop bodies) read the enclosing graph's initializers by name.
    const g = graph.root;
    let names = this.perGraph.get(g);
    if (!names) this.perGraph.set(g, (names = new Set()));
    if (names.has(key)) return key;
    names.add(key);
    const prior = this.written.get(key);
    if (prior) return g.sharedInitializer(key, prior.elem, prior.dims, prior.at);
    const { elem, dims, bytes } = await make();
    const at = g.initializerAt(key, elem, dims, bytes);
    // Remember where it went so another graph can point at the same bytes.
    if (at) this.written.set(key, { elem, dims, at });
    return key;
  }

  private async read(name: string): Promise<Float32Array> {
    const t = this.src.info(name);
    const v = await this.src.readTensor(name);
    this.bytesRead += t.byteLength;
    this.tensorsDone += 1;
    this.report();
    return v;
  }

  shape(name: string): number[] {
    return this.src.info(name).shape;
  }

  has(name: string): boolean {
    return this.src.has(name);
  }

  /** A tensor kept in f32 whatever the build dtype (norms, gates, biases, embeddings of the vision side). */
  async f32(g: GraphBuilder, name: string, reshape?: number[]): Promise<string> {
    return this.use(g, name, async () => {
      const v = await this.read(name);
      return { elem: 'float32', dims: reshape ?? this.shape(name), bytes: bytesOf(v) };
    });
  }

  /** An embedding table for Gather: f32, or f16 in the fp16/int4 builds (a Cast follows the Gather). */
  async embeddingTable(g: GraphBuilder, name: string): Promise<{ table: string; half: boolean }> {
    const half = this.dtype !== 'fp32';
    const key = half ? `${name}.f16` : name;
    const table = await this.use(g, key, async () => {
      const v = await this.read(name);
      return half
        ? { elem: 'float16', dims: this.shape(name), bytes: bytesOf(f32ToF16Bits(v)) }
        : { elem: 'float32', dims: this.shape(name), bytes: bytesOf(v) };
    });
    return { table, half };
  }

  /**
   * y = x @ W^T (+ b) for an HF Linear weight W [out, in]. fp32 stores W^T; fp16 stores W^T in
   * half and casts it up (compute stays f32, so CPU kernels exist); int4 uses MatMulNBits.
   */
  async linear(g: GraphBuilder, x: string, name: string, bias?: string, opts: { atMost?: 'fp16' } = {}): Promise<string> {
    const [out, inF] = this.shape(name);
    // `atMost: 'fp16'` keeps a sensitive matrix (lm_head) in half precision in int4 builds.
    const dtype = opts.atMost === 'fp16' && this.dtype === 'int4' ? 'fp16' : this.dtype;
    let y: string;
    if (dtype === 'int4' && inF % 32 === 0) {
      const key = `${name}.q4`;
      const skey = `${name}.q4.scales`;
      let q: ReturnType<typeof quantizeInt4> | undefined;
      const get = async () => (q ??= quantizeInt4(await this.read(name), out, inF, 32));
      const w = await this.use(g, key, async () => ({ elem: 'uint8', dims: [out, inF / 32, 16], bytes: (await get()).packed }));
      const s = await this.use(g, skey, async () => ({ elem: 'float32', dims: [out * (inF / 32)], bytes: bytesOf((await get()).scales) }));
      y = g.op('MatMulNBits', [x, w, s], { K: A.i(inF), N: A.i(out), bits: A.i(4), block_size: A.i(32) }, undefined, 'com.microsoft');
    } else if (dtype === 'fp16' || dtype === 'int4') {
      const key = `${name}.T.f16`;
      const w = await this.use(g, key, async () => ({ elem: 'float16', dims: [inF, out], bytes: bytesOf(f32ToF16Bits(transpose(await this.read(name), out, inF))) }));
      // The Cast lives in the root graph, once per weight: onnxruntime folds it at load time
      // and Loop bodies read the folded tensor instead of casting on every iteration.
      let casts = this.casts.get(g.root);
      if (!casts) this.casts.set(g.root, (casts = new Map()));
      let wide = casts.get(key);
      if (!wide) {
        wide = g.root.op('Cast', [w], { to: A.i(1) }, `${key}.as_f32`);
        casts.set(key, wide);
      }
      y = g.op('MatMul', [x, wide]);
    } else {
      const key = `${name}.T`;
      const w = await this.use(g, key, async () => ({ elem: 'float32', dims: [inF, out], bytes: bytesOf(transpose(await this.read(name), out, inF)) }));
      y = g.op('MatMul', [x, w]);
    }
    if (bias) y = g.op('Add', [y, await this.f32(g, bias)]);
    return y;
  }
}

export function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** [rows, cols] -> [cols, rows], blocked for cache locality on big matrices. */
export function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = src[base + c];
      }
    }
  }
  return out;
}
