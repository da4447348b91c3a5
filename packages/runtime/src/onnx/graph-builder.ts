import onnxProto from 'onnx-proto';
import type { ExternalDataWriter } from './external-data.js';
import { f32ToF16Bits } from '../weights/index.js';

const { onnx } = onnxProto;

/** Element types the builder writes, with their TensorProto.DataType numbers. */
export const ElemType = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
} as const;
export type Elem = keyof typeof ElemType;
export type FloatElem = 'float32' | 'float16';

/** A node attribute, tagged with its ONNX type so ints and floats are never confused. */
export type Attr =
  | { kind: 'i'; v: number }
  | { kind: 'f'; v: number }
  | { kind: 'ints'; v: number[] }
  | { kind: 'floats'; v: number[] }
  | { kind: 's'; v: string }
  | { kind: 'g'; v: GraphBuilder };

export const A = {
  i: (v: number): Attr => ({ kind: 'i', v }),
  f: (v: number): Attr => ({ kind: 'f', v }),
  ints: (v: number[]): Attr => ({ kind: 'ints', v }),
  floats: (v: number[]): Attr => ({ kind: 'floats', v }),
  s: (v: string): Attr => ({ kind: 's', v }),
  g: (v: GraphBuilder): Attr => ({ kind: 'g', v }),
};

type Dim = number | string;

/** Inline initializers larger than this go to the external-data file. */
const INLINE_LIMIT = 1024;

/**
 * Builds one ONNX graph node by node. Names are generated from a prefix so that graphs stay
 * readable in Netron; weights are written to the shared external-data file as they are added.
 */
export class GraphBuilder {
  private nodes: onnxProto.onnx.INodeProto[] = [];
  private initializers: onnxProto.onnx.ITensorProto[] = [];
  private inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private counter = 0;
  private constCache = new Map<string, string>();
  private domains = new Set<string>();
  /** Current name prefix, e.g. "layers.3.self_attn". */
  scope = '';
  /**
   * Subgraphs (a Loop body) set these: `names` renames the fixed graph I/O names, `bound` lists
   * values that come from the enclosing graph (not declared as inputs), `declareOutputs` off
   * lets the caller list the body outputs itself.
   */
  names: (name: string) => string = (n) => n;
  readonly bound = new Set<string>();
  declareOutputs = true;

  /**
   * @param parent the enclosing graph of a subgraph: weights and shared constants live there
   * @param prefix prepended to generated names so they never collide with the parent's
   */
  constructor(
    readonly name: string,
    private readonly data: ExternalDataWriter,
    readonly parent?: GraphBuilder,
    private readonly prefix = '',
  ) {}

  /** The outermost graph: where weight initializers go. */
  get root(): GraphBuilder {
    return this.parent ? this.parent.root : this;
  }

  private rootFloat: FloatElem = 'float32';
  /**
   * The element type activations are computed in (float16 in fp16 builds, for CUDA). Set on the
   * root graph; subgraphs inherit it. Graph inputs and outputs that callers see stay float32.
   */
  get floatElem(): FloatElem {
    return this.parent ? this.parent.floatElem : this.rootFloat;
  }

  set floatElem(elem: FloatElem) {
    if (this.parent) throw new Error('the compute type is set on the root graph');
    this.rootFloat = elem;
  }

  /** The most negative finite value of the compute type: additive masks use it, as HF does. */
  get floatMin(): number {
    return this.floatElem === 'float16' ? -65504 : -3.4028234663852886e38;
  }

  /** A constant in the compute type. */
  constF(values: number[] | Float32Array, dims: number[] = [values.length]): string {
    if (this.floatElem === 'float32') return this.constF32(values, dims);
    const half = f32ToF16Bits(values instanceof Float32Array ? values : new Float32Array(values));
    const key = `f16:${dims.join(',')}:${Array.from(half).join(',')}`;
    const hit = key.length < 4096 ? this.constCache.get(key) : undefined;
    if (hit) return hit;
    const name = this.initializer(`${this.prefix}const_f16_${this.constCache.size}`, 'float16', dims, new Uint8Array(half.buffer, half.byteOffset, half.byteLength));
    if (key.length < 4096) this.constCache.set(key, name);
    return name;
  }

  /** A float32 value (a graph input) in the compute type. */
  fromF32(x: string): string {
    return this.floatElem === 'float32' ? x : this.op('Cast', [x], { to: A.i(ElemType[this.floatElem]) });
  }

  /** A compute-type value as float32 (for graph outputs callers read). */
  toF32(x: string, outName?: string): string {
    return this.floatElem === 'float32' ? (outName ? this.op('Identity', [x], {}, outName) : x) : this.op('Cast', [x], { to: A.i(ElemType.float32) }, outName);
  }

  /** A fixed I/O name as this graph spells it. */
  io(name: string): string {
    return this.names(name);
  }

  input(name: string, elem: Elem, dims: Dim[]): string {
    if (this.bound.has(name)) return name;
    this.inputs.push(valueInfo(name, elem, dims));
    return name;
  }

  output(name: string, elem: Elem, dims: Dim[]): void {
    if (!this.declareOutputs) return;
    this.outputs.push(valueInfo(name, elem, dims));
  }

  /** Replaces the declared inputs / outputs (a Loop body's order is fixed by the Loop op). */
  setIO(inputs: Array<[string, Elem, Dim[]]>, outputs: Array<[string, Elem, Dim[]]>): void {
    this.inputs = inputs.map(([n, e, d]) => valueInfo(n, e, d));
    this.outputs = outputs.map(([n, e, d]) => valueInfo(n, e, d));
  }

  /** Removes a declared output (its value stays usable inside the graph). */
  dropOutput(name: string): void {
    this.outputs = this.outputs.filter((o) => o.name !== name);
  }

  private rootNames = new Set<string>();
  /** An initializer created once in the root graph and shared by its subgraphs. */
  rootInitializer(name: string, elem: Elem, dims: number[], bytes: () => Uint8Array): string {
    const root = this.root;
    if (!root.rootNames.has(name)) {
      root.rootNames.add(name);
      root.initializer(name, elem, dims, bytes());
    }
    return name;
  }

  /** A new unique value name in this graph. */
  freshName(op: string): string {
    return this.fresh(op);
  }

  private fresh(op: string): string {
    this.counter += 1;
    return `${this.prefix}${this.scope ? this.scope + '/' : ''}${op}_${this.counter}`;
  }

  /** Adds a node with `nOut` outputs (or the given output names) and returns the output names. */
  opN(opType: string, inputs: string[], nOut: number | string[], attrs: Record<string, Attr> = {}, domain = ''): string[] {
    const nodeName = this.fresh(opType);
    const outs = typeof nOut === 'number' ? Array.from({ length: nOut }, (_, i) => `${nodeName}:${i}`) : nOut;
    if (domain) this.domains.add(domain);
    for (const a of Object.values(attrs)) if (a.kind === 'g') for (const d of a.v.usedDomains()) this.domains.add(d);
    this.nodes.push({
      name: nodeName,
      opType,
      domain: domain || undefined,
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, a]) => attrProto(k, a)),
    });
    return outs;
  }

  /**
   * An ONNX If: `then` and `otherwise` each build their branch (a subgraph reading this graph's
   * values by name) and return its output values, which must match `outputs` in type. Returns
   * the If node's output names.
   */
  ifElse(cond: string, outputs: Array<[Elem, Dim[]]>, then: (g: GraphBuilder) => string[], otherwise: (g: GraphBuilder) => string[]): string[] {
    const branch = (label: string, build: (g: GraphBuilder) => string[]): GraphBuilder => {
      const b = new GraphBuilder(label, this.data, this, `${this.fresh(label)}/`);
      b.declareOutputs = false;
      const values = build(b);
      b.setIO([], values.map((v, i) => [v, outputs[i][0], outputs[i][1]]));
      return b;
    };
    return this.opN('If', [cond], outputs.length, { then_branch: A.g(branch('then', then)), else_branch: A.g(branch('else', otherwise)) });
  }

  /** Adds a single-output node and returns its output name (or `outName` when given). */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outName?: string, domain = ''): string {
    return this.opN(opType, inputs, outName ? [outName] : 1, attrs, domain)[0];
  }

  /** Adds an initializer; big ones are written to the external-data file right away. */
  initializer(name: string, elem: Elem, dims: number[], bytes: Uint8Array): string {
    this.initializerAt(name, elem, dims, bytes);
    return name;
  }

  /** Like initializer(); returns where the bytes went when they were written externally. */
  initializerAt(name: string, elem: Elem, dims: number[], bytes: Uint8Array): { offset: number; length: number } | undefined {
    if (bytes.byteLength > INLINE_LIMIT) {
      const at = this.data.append(bytes);
      this.sharedInitializer(name, elem, dims, at);
      return at;
    }
    this.initializers.push({ name, dataType: ElemType[elem], dims, rawData: bytes.slice() });
    return undefined;
  }

  /** A reference to an initializer already written by another graph into the same data file. */
  sharedInitializer(name: string, elem: Elem, dims: number[], at: { offset: number; length: number }): string {
    this.initializers.push({
      name,
      dataType: ElemType[elem],
      dims,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: this.data.fileName },
        { key: 'offset', value: String(at.offset) },
        { key: 'length', value: String(at.length) },
      ],
    });
    return name;
  }

  constI64(values: number[], dims: number[] = [values.length]): string {
    const key = `i64:${dims.join(',')}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const arr = new BigInt64Array(values.map((v) => BigInt(v)));
    const name = this.initializer(`${this.prefix}const_i64_${this.constCache.size}`, 'int64', dims, new Uint8Array(arr.buffer));
    this.constCache.set(key, name);
    return name;
  }

  constF32(values: number[] | Float32Array, dims: number[] = [values.length]): string {
    const arr = values instanceof Float32Array ? values : new Float32Array(values);
    const key = `f32:${dims.join(',')}:${Array.from(new Uint32Array(arr.buffer, arr.byteOffset, arr.length)).join(',')}`;
    const hit = key.length < 4096 ? this.constCache.get(key) : undefined;
    if (hit) return hit;
    const name = this.initializer(`${this.prefix}const_f32_${this.constCache.size}`, 'float32', dims, new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
    if (key.length < 4096) this.constCache.set(key, name);
    return name;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The GraphProto (for a subgraph attribute, or inside toBytes). */
  toGraph(): onnxProto.onnx.IGraphProto {
    return { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs };
  }

  /** Domains used here and in subgraphs added so far. */
  usedDomains(): Set<string> {
    return this.domains;
  }

  /** Serialises the graph as a ModelProto (opset 17 plus com.microsoft when used). */
  toBytes(): Uint8Array {
    const opsetImport: onnxProto.onnx.IOperatorSetIdProto[] = [{ domain: '', version: 17 }];
    for (const d of this.domains) opsetImport.push({ domain: d, version: 1 });
    const model: onnxProto.onnx.IModelProto = {
      irVersion: 8,
      producerName: 'lookout',
      producerVersion: '0.1.0',
      opsetImport,
      graph: this.toGraph(),
    };
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, elem: Elem, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ElemType[elem],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attrProto(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'i':
      return { name, type: T.INT, i: a.v };
    case 'f':
      return { name, type: T.FLOAT, f: a.v };
    case 'ints':
      return { name, type: T.INTS, ints: a.v };
    case 'floats':
      return { name, type: T.FLOATS, floats: a.v };
    case 's':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.v) };
    case 'g':
      return { name, type: T.GRAPH, g: a.v.toGraph() };
  }
}
